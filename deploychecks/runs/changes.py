"""What a service returns about a change, and how open run pages hear of one.

Every change of a deployment takes the next sequence number
(`Deployment.next_seq`) and is broadcast after commit under it; a page that
sees a gap in the numbers resyncs from the database.
"""

from dataclasses import dataclass

from deploychecks.realtime.broadcast import broadcast_on_commit, run_event
from deploychecks.runs.access import allowed_user_ids


@dataclass
class Change:
    obj: object
    changed: bool
    seq: int | None = None
    # The editable item fragments as broadcast after commit (None until then,
    # e.g. inside an outer transaction); the view sends them back as its response.
    html: str | None = None


def resync_message(deployment_id: int, seq: int, kind: str, *, resync: bool = True) -> dict:
    """A run event without fragments: with `resync`, every page refetches its checklist."""
    return run_event(seq=seq, kind=kind, resync=resync, allowed=allowed_user_ids(deployment_id))


def resync_on_commit(deployment_id: int, seq: int, kind: str, *, resync: bool = True) -> None:
    """After commit, tell open pages about change `seq` (see `resync_message`).

    A resync rather than a fragment when what a page shows differs per viewer
    (sign-off forms, what a removed participant may see) or spans the page. The
    allowed list, computed after commit, also closes the sockets of people who
    lost access. `resync=False` only keeps the pages' sequence whole, for a
    change nothing on the run page shows.
    """
    broadcast_on_commit(
        deployment_id, lambda: resync_message(deployment_id, seq, kind, resync=resync)
    )
