"""The lock order: the reminder dispatcher and people ticking never deadlock.

Real transactions in threads on PostgreSQL. Before the rule (docs/decisions.md,
"One lock order"), a tick held its deployment row FOR UPDATE and waited for the
audit chain lock, while the dispatcher held the chain lock and, at COMMIT,
waited for the KEY SHARE lock that the audit row's deferred foreign key check
takes on that same deployment row: PostgreSQL killed one of them after
deadlock_timeout.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from psycopg import errors as pg

from deploychecks.audit.services import LockOrderError, record_event, verify_chain
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Deployment, RunItem
from deploychecks.runs.services import create_deployment, set_item_state
from tests.reminders.conftest import go_live

DEPLOYMENTS = 3
TICKERS_PER_DEPLOYMENT = 2
ROUNDS = 8
REMINDERS_PER_DEPLOYMENT_AND_ROUND = 3


def _is_deadlock(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, pg.DeadlockDetected):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@pytest.fixture
def live_deployments(revision, lead, engineer, second_engineer, settings, purge_audit_events):
    settings.REMINDER_ESCALATE_MINUTES = 0.01  # escalate on the next round too
    settings.REMINDER_TIME_SCALE = 1.0
    settings.REMINDER_WEBHOOK_URL = ""
    deployments = []
    for n in range(DEPLOYMENTS):
        deployment = create_deployment(
            revision,
            user=lead,
            release_name=f"Release {n}",
            version=f"2.0.{n}",
            service=f"service-{n}",
            lead=lead,
            engineers=[engineer, second_engineer],
        )
        deployments.append(go_live(deployment, lead))
    return deployments


def _add_due_reminders(deployments, round_number):
    now = timezone.now()
    Reminder.objects.bulk_create(
        Reminder(
            deployment=deployment,
            title=f"Check {round_number}.{n}",  # distinct titles: none supersedes another
            offset_minutes=round_number,
            due_at=now - timedelta(seconds=1),
            notify=["lead", "engineers"],
        )
        for deployment in deployments
        for n in range(REMINDERS_PER_DEPLOYMENT_AND_ROUND)
    )


@pytest.mark.django_db(transaction=True)
def test_dispatcher_and_concurrent_ticks_never_deadlock(
    live_deployments, engineer, second_engineer
):
    stop = threading.Event()
    errors: list[BaseException] = []
    ticks = [0]
    released = [0]

    def tick(deployment, user, item_ids):
        try:
            while not stop.is_set():
                for item_id in item_ids:
                    item = RunItem.objects.get(pk=item_id)
                    set_item_state(
                        deployment_id=deployment.pk,
                        item_id=item_id,
                        state="open" if item.state == "done" else "done",
                        expected_version=item.version,
                        user=user,
                    )
                    ticks[0] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            stop.set()
        finally:
            connection.close()

    def dispatch():
        try:
            for round_number in range(1, ROUNDS + 1):
                if stop.is_set():
                    return
                _add_due_reminders(live_deployments, round_number)
                report = dispatch_due_reminders()
                released[0] += len(report.released)
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            stop.set()
            connection.close()

    threads = [threading.Thread(target=dispatch)]
    for deployment in live_deployments:
        # Each ticker has its own items, so no tick is refused as stale.
        items = list(
            deployment.items.filter(phase__is_rollback=False)
            .order_by("phase__position", "position")
            .values_list("pk", flat=True)[: 3 * TICKERS_PER_DEPLOYMENT]
        )
        for n, user in enumerate([engineer, second_engineer][:TICKERS_PER_DEPLOYMENT]):
            mine = items[n::TICKERS_PER_DEPLOYMENT]
            threads.append(threading.Thread(target=tick, args=(deployment, user, mine)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    deadlocks = [e for e in errors if _is_deadlock(e)]
    assert deadlocks == [], f"{len(deadlocks)} deadlock(s): {deadlocks[0]}"
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert released[0] == ROUNDS * DEPLOYMENTS * REMINDERS_PER_DEPLOYMENT_AND_ROUND
    assert ticks[0] > ROUNDS
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_asking_for_a_busy_deployment_after_the_chain_lock_fails_at_once(
    revision, lead, purge_audit_events
):
    first, second = (
        create_deployment(
            revision,
            user=lead,
            release_name=f"Release {n}",
            version="1.0",
            service="api",
            lead=lead,
        )
        for n in range(2)
    )
    holding = threading.Event()
    release = threading.Event()

    def hold_second_row():
        with transaction.atomic():
            Deployment.objects.select_for_update().get(pk=second.pk)
            holding.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_second_row)
    holder.start()
    holding.wait(10)
    started = time.monotonic()
    try:
        with pytest.raises(LockOrderError), transaction.atomic():
            record_event(action="item.ticked", deployment=first)  # row, then chain
            record_event(action="item.ticked", deployment=second)  # busy row after the chain
    finally:
        release.set()
        holder.join()

    assert time.monotonic() - started < 0.5  # no wait, so no cycle to wait in
