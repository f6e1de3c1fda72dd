import threading

import pytest
from django.db import connection, transaction

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import record_event, verify_chain

WRITERS = 2
EVENTS_EACH = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_valid_chain(purge_audit_events):
    start = threading.Barrier(WRITERS)
    errors = []

    def write(writer):
        try:
            start.wait()
            for n in range(EVENTS_EACH):
                with transaction.atomic():
                    record_event(
                        action="item.ticked",
                        target_repr=f"writer {writer} #{n}",
                        after={"writer": writer, "n": n},
                    )
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    check = verify_chain()
    assert (check.ok, check.count) == (True, WRITERS * EVENTS_EACH), check.reason
    assert AuditEvent.objects.values("prev_hash").distinct().count() == WRITERS * EVENTS_EACH
