"""One way out to the browsers: `send_to_deployment`, always after commit.

Message shapes are declared here so consumer and senders agree. Fragments are
rendered once per broadcast (not once per viewer), in an editable and a
read-only variant; each consumer forwards the one its user may have.
"""

from typing import TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


class RunEvent(TypedDict):
    type: str  # "run.event" -> consumer method run_event
    seq: int
    kind: str
    html_edit: str
    html_read: str
    allowed: list[int]


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


def group_name(deployment_id: int) -> str:
    return f"deployment-{deployment_id}"


def send_to_deployment(deployment_id: int, message: dict) -> None:
    async_to_sync(get_channel_layer().group_send)(group_name(deployment_id), message)


def broadcast_on_commit(deployment_id: int, build_message) -> None:
    """Build (render) and send the message only once the transaction has committed."""

    def send():
        send_to_deployment(deployment_id, build_message())

    transaction.on_commit(send)
