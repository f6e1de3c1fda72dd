"""An owner change and an item falling overdue reach open run pages live."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from deploychecks.owners import services
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.runs import services as runs
from tests.owners.conftest import item
from tests.sockets import browser_headers, messages_until_quiet, next_message, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """This module's sockets use Redis keys no other test run shares."""


@pytest.fixture(autouse=True)
def _empty_audit_log_after_test(purge_audit_events):
    """These tests commit; Django's flush cannot truncate the audit log."""


def test_an_owner_change_reaches_a_viewers_page(owned, lead, viewer):
    canary = item(owned, "Canary healthy")
    headers = browser_headers(viewer)

    def change():
        return services.set_assignment(
            deployment_id=owned.pk, item_id=canary.pk, owners="@sam", user=lead
        )

    async def scenario():
        socket = await open_socket(owned.pk, headers)
        done = await sync_to_async(change)()
        event = await next_message(socket)
        await socket.disconnect()
        return done, event

    done, event = async_to_sync(scenario)()

    assert (event["kind"], event["seq"]) == ("item", done.seq)
    assert f'id="item-{canary.pk}"' in event["html"]
    assert '<span class="owner"><bdi>@sam</bdi></span>' in event["html"]


def test_an_item_falling_overdue_reaches_a_viewers_page(owned, lead, viewer):
    runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead)
    owned.refresh_from_db()
    owned.planned_start = timezone.now() - timedelta(hours=1)  # Canary (30m) past due
    owned.save(update_fields=["planned_start"])
    canary = item(owned, "Canary healthy")
    headers = browser_headers(viewer)

    async def scenario():
        socket = await open_socket(owned.pk, headers)
        # The reminder run marks it overdue, then delivers its page toast.
        await sync_to_async(dispatch_due_reminders)()
        events = [await next_message(socket)]
        events += await messages_until_quiet(socket, quiet=1)
        await socket.disconnect()
        return events

    events = async_to_sync(scenario)()

    rows = [e for e in events if e.get("kind") == "item"]
    assert len(rows) == 1 and f'id="item-{canary.pk}"' in rows[0]["html"]
    assert "Overdue" in rows[0]["html"]
    toasts = [e for e in events if e.get("type") == "toast"]
    assert len(toasts) == 1 and "Overdue: Canary healthy" in toasts[0]["html"]
