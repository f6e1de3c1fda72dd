"""What reminders announce to the features above them (webhooks).

Handlers connect in their AppConfig.ready(), as with runs.hooks; each is called
inside the dispatcher's transaction with the deployment row locked.
"""

from dataclasses import dataclass
from typing import Any

from deploychecks.runs.hooks import Event, Hook


@dataclass(frozen=True)
class ReminderSent(Event):
    """A due reminder was released to its channels (sent, or sent late); never
    sent for a mention, which is for the person mentioned only."""

    reminder: Any = None  # reminders.models.Reminder, as saved


reminder_sent = Hook("reminder sent")


@dataclass(frozen=True)
class Dispatching:
    """A dispatcher run starts (before it releases anything): features that raise
    reminders of their own at a time (an owned item falling overdue) do it now,
    through `dispatch.release_now`, and this same run delivers them."""

    now: Any = None


dispatching = Hook("reminder dispatch run starting")
