"""Work that must run outside Playwright's thread: Playwright owns that thread's
event loop, and a service's broadcast after commit needs a loop of its own."""

import threading

from django.db import connection


def in_thread(work):
    """Playwright owns this thread's event loop; a broadcast after commit needs its own."""
    result, errors = [], []

    def run():
        try:
            result.append(work())
        except Exception as exc:  # noqa: BLE001  re-raised below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return result[0]
