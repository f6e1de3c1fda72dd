"""What reminders send to open run pages (message shape: realtime.broadcast.ReminderNotice).

Two websocket texts: {"type": "toast", "reminder_id", "html"} when a reminder
or escalation goes out, and {"type": "reminders"} when the notification centre
changed (acknowledged, cancelled, a delivery failed). The page re-reads the
centre from the server for both, so a lost notice only loses its toast.
"""

import json

from django.template.loader import render_to_string

from deploychecks.core.commit import after_commit
from deploychecks.realtime.broadcast import ReminderNotice, send_to_deployment
from deploychecks.reminders.centre import CENTRE, reminder_context
from deploychecks.runs import access

REFRESH_TEXT = json.dumps({"type": "reminders"})


def notice(deployment_id: int, text: str) -> ReminderNotice:
    return {
        "type": "reminder.notice",
        "text": text,
        "allowed": sorted(access.allowed_user_ids(deployment_id)),
    }


def send_toast(reminder, *, escalation: str = "") -> None:
    """Send the toast of `reminder` (or of its escalation) to every open view of it."""
    html = render_to_string(
        f"{CENTRE}#toast", {**reminder_context(reminder), "escalation": escalation}
    )
    text = json.dumps(
        {
            "type": "toast",
            "reminder_id": reminder.pk,
            "key": f"{reminder.pk}-{'escalation' if escalation else 'reminder'}",
            "html": html,
        }
    )
    message = notice(reminder.deployment_id, text)
    # A mention's toast is for the person mentioned (reminder.notify: "user:<id>"),
    # and so is its line in the bell.
    if reminder.people:
        message["only"] = reminder.people
    send_to_deployment(reminder.deployment_id, message)


def send_refresh(deployment_id: int) -> None:
    send_to_deployment(deployment_id, notice(deployment_id, REFRESH_TEXT))


def refresh_on_commit(deployment_id: int) -> None:
    after_commit(lambda: send_refresh(deployment_id), "reminder centre refresh")
