"""Who is viewing a deployment right now, shared by every web process.

Each open socket is one row; the consumer adds it on connect, removes it on
disconnect and refreshes `last_seen` on the client's heartbeat, so a crashed
process's rows fade out after PRESENCE_TTL.
"""

from datetime import timedelta

from django.utils import timezone

from deploychecks.realtime.models import PresenceEntry

PRESENCE_TTL = timedelta(seconds=75)


def viewers_now(deployment_id: int) -> list[dict]:
    cutoff = timezone.now() - PRESENCE_TTL
    rows = (
        PresenceEntry.objects.filter(deployment_id=deployment_id, last_seen__gte=cutoff)
        .values_list("user_id", "name")
        .order_by("name")
    )
    people, seen = [], set()
    for user_id, name in rows:
        if user_id in seen:
            continue
        seen.add(user_id)
        initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
        people.append({"id": user_id, "name": name, "initials": initials})
    return people


def join(deployment_id: int, user, channel_name: str) -> None:
    name = (user.get_full_name() or user.get_username())[:150]
    PresenceEntry.objects.update_or_create(
        channel_name=channel_name,
        defaults={
            "deployment_id": deployment_id,
            "user": user,
            "name": name,
            "last_seen": timezone.now(),
        },
    )


def heartbeat(channel_name: str) -> None:
    PresenceEntry.objects.filter(channel_name=channel_name).update(last_seen=timezone.now())


def leave(channel_name: str) -> None:
    PresenceEntry.objects.filter(channel_name=channel_name).delete()
