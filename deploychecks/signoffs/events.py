"""What sign-offs announce to the features above them (webhooks).

Handlers connect in their AppConfig.ready(), as with runs.hooks; each is called
inside the transaction of the change with the deployment row locked.
"""

from dataclasses import dataclass
from typing import Any

from deploychecks.runs.hooks import Event, Hook


@dataclass(frozen=True)
class SignoffChanged(Event):
    """A role's sign-off was given (approved or rejected) or went stale."""

    signoff: Any = None  # signoffs.models.SignOff, as saved


signoff_changed = Hook("sign-off given or gone stale")
