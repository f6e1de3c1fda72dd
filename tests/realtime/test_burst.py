"""A burst of sockets against the real Redis channel layer leaves nothing behind."""

import asyncio

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from deploychecks.realtime.broadcast import group_name, user_group_name
from deploychecks.realtime.models import PresenceEntry
from tests.sockets import browser_headers, deployment_socket

pytestmark = pytest.mark.django_db(transaction=True)

SOCKETS = 500
BATCH = 50
# Generous: the sockets' database work shares one thread, and CI machines are busy.
# A consumer that hangs (or crashes) still fails the test.
PATIENCE = 120


def group_key(group: str) -> str:
    """Where channels_redis keeps a group: a sorted set of channel names."""
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    return f"{prefix}:group:{group}"


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs the Redis channel layer")
def test_burst_of_connects_and_disconnects_leaves_no_group_members(
    deployment, lead, engineer, second_engineer, viewer, approver
):
    users = (lead, engineer, second_engineer, viewer, approver)
    headers = [browser_headers(user) for user in users]
    redis_client = redis.Redis.from_url(settings.REDIS_URL)
    key = group_key(group_name(deployment.pk))
    # Each socket is also in its user's group, for "check your session" messages.
    user_keys = [group_key(user_group_name(user.pk)) for user in users]

    async def burst():
        sockets = [
            deployment_socket(deployment.pk, headers[n % len(headers)]) for n in range(SOCKETS)
        ]
        for first in range(0, SOCKETS, BATCH):
            batch = sockets[first : first + BATCH]
            results = await asyncio.gather(*(s.connect(timeout=PATIENCE) for s in batch))
            assert results == [(True, None)] * BATCH
        members_while_open = await sync_to_async(redis_client.zcard)(key)
        user_members_while_open = [
            await sync_to_async(redis_client.zcard)(user_key) for user_key in user_keys
        ]
        # All at once: hundreds of group_discard calls in flight together are what
        # ran out of redis-py's default 100 pooled connections (MaxConnectionsError).
        await asyncio.gather(*(s.disconnect(timeout=PATIENCE) for s in sockets))
        return members_while_open, user_members_while_open

    members_while_open, user_members_while_open = async_to_sync(burst)()

    assert members_while_open > 0  # the key is the right one: the sockets were in it
    assert user_members_while_open == [SOCKETS // len(users)] * len(users)
    assert redis_client.zcard(key) == 0
    assert [redis_client.zcard(user_key) for user_key in user_keys] == [0] * len(users)
    assert not PresenceEntry.objects.filter(deployment=deployment).exists()
