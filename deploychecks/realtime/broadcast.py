"""One way out to the browsers: `send_to_deployment`, always after commit.

Message shapes are declared here so consumer and senders agree. Fragments are
rendered once per broadcast (not once per viewer), in an editable and a
read-only variant, and serialized to the final websocket text here, once: each
consumer only picks the text its user may have and forwards it as is.
"""

import json
from bisect import bisect_left
from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


class RunEvent(TypedDict):
    type: str  # "run.event" -> consumer method run_event
    seq: int
    kind: str
    resync: bool
    text_edit: str  # the websocket text for users who may edit ...
    text_read: str  # ... and for read-only users
    allowed: list[int]  # who may watch now, sorted (see `is_allowed`)


class PresenceEvent(TypedDict):
    type: str  # "presence.changed"


class ReminderNotice(TypedDict):
    """A reminder toast or "refresh the notification centre" (reminders.live).

    Outside the seq stream: the centre is re-read from the database on every
    notice and on reconnect, so a lost notice costs nothing but the toast.
    """

    type: str  # "reminder.notice" -> consumer method reminder_notice
    text: str  # the websocket text: {"type": "toast", ...} or {"type": "reminders"}
    allowed: list[int]  # sorted, as in RunEvent


def run_event(*, seq: int, kind: str, allowed, html_edit: str = "", html_read: str = "",
              resync: bool = False) -> RunEvent:
    """A run event whose two websocket texts are serialized once, here.

    With hundreds of viewers per process, a `json.dumps` per viewer was a
    measurable part of the fan-out (bench/fanout.py).
    """

    def text(html: str) -> str:
        return json.dumps({"type": "event", "seq": seq, "kind": kind, "resync": resync,
                           "html": html})

    text_read = text(html_read)
    return {"type": "run.event", "seq": seq, "kind": kind, "resync": resync,
            "text_edit": text_read if html_edit == html_read else text(html_edit),
            "text_read": text_read, "allowed": sorted(allowed)}


def is_allowed(event: RunEvent, user_id: int) -> bool:
    """Whether `user_id` is in the event's sorted `allowed` list (binary search).

    Every consumer asks this for every event; scanning the list would cost
    O(participants) per viewer.
    """
    allowed = event["allowed"]
    i = bisect_left(allowed, user_id)
    return i < len(allowed) and allowed[i] == user_id


def group_name(deployment_id: int) -> str:
    return f"deployment-{deployment_id}"


def send_to_deployment(deployment_id: int, message: dict) -> None:
    async_to_sync(get_channel_layer().group_send)(group_name(deployment_id), message)


def broadcast_on_commit(deployment_id: int, build_message) -> None:
    """Build (render) and send the message only once the transaction has committed."""

    def send():
        send_to_deployment(deployment_id, build_message())

    transaction.on_commit(send)
