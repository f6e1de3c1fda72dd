"""What status updates announce, for the features above them (the public
status page, the webhooks outbox) to connect to in their AppConfig.ready()."""

from dataclasses import dataclass
from typing import Any

from deploychecks.runs.hooks import Event, Hook


@dataclass(frozen=True)
class UpdatePosted(Event):
    """The lead posted `update`; sent inside its transaction, deployment locked."""

    update: Any = None  # statusupdates.models.StatusUpdate


update_posted = Hook("status update posted")
