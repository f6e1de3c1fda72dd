"""What reminders announce to the features above them (webhooks).

Handlers connect in their AppConfig.ready(), as with runs.hooks; each is called
inside the dispatcher's transaction with the deployment row locked.
"""

from dataclasses import dataclass
from typing import Any

from deploychecks.runs.hooks import Event, Hook


@dataclass(frozen=True)
class ReminderSent(Event):
    """A due reminder was released to its channels (sent, or sent late)."""

    reminder: Any = None  # reminders.models.Reminder, as saved


reminder_sent = Hook("reminder sent")
