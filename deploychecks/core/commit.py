"""Work done after a transaction commits, whose failure must not look like the change's."""

import logging

from django.db import transaction

logger = logging.getLogger("deploychecks.commit")


def after_commit(func, what: str) -> None:
    """`transaction.on_commit(func)`, with a failure logged and never raised.

    Broadcasts, cache writes and queued tasks after commit are extras: the
    change itself is saved. Raised from an on_commit callback, their failure
    reached the view as an exception (a 500 for a note that was stored, and a
    retry then stored it twice, issue 13) and skipped the callbacks after it.
    Open pages catch up on their own (they resync on reconnect or on a gap in
    the sequence numbers). `what` names the work in the log.
    """

    def run():
        try:
            func()
        except Exception:
            logger.exception("after commit: %s failed (the change itself is saved)", what)

    transaction.on_commit(run)
