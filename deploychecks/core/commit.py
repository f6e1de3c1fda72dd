"""Work done after a transaction commits, whose failure must not look like the change's."""

import logging
import threading

from django.db import transaction

logger = logging.getLogger("deploychecks.commit")
_request = threading.local()


def after_commit(func, what: str) -> None:
    """`transaction.on_commit(func)`, with a failure logged and never raised.

    Broadcasts, cache writes and queued tasks after commit are extras: the
    change itself is saved. Raised from an on_commit callback, their failure
    reached the view as an exception (a 500 for a note that was stored, and a
    retry then stored it twice, issue 13) and skipped the callbacks after it.
    Open pages catch up on their own (they resync on reconnect or on a gap in
    the sequence numbers). `what` names the work in the log.

    It also notes that the request running in this thread has committed a
    change (`committed_in_request`).
    """

    def run():
        _request.committed = True
        try:
            func()
        except Exception:
            logger.exception("after commit: %s failed (the change itself is saved)", what)

    transaction.on_commit(run)


def begin_request() -> None:
    """Called by core.database.DatabaseAvailabilityMiddleware as a request starts."""
    _request.committed = False


def committed_in_request() -> bool:
    """Whether this thread's request has committed a change (one with work after
    commit: every change to a deployment broadcasts). A database that goes away
    right after must not make the answer say "not saved"."""
    return getattr(_request, "committed", False)
