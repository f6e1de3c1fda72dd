"""A token's readings are cheap: no deployment lock, no audit, one shared panel
refresh, unless a reading changes a grade (then locked, audited, broadcast at once)."""

import asyncio
import json
import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.gonogo import grading, ingest
from deploychecks.gonogo.models import DeploymentSignal, Reading
from deploychecks.gonogo.services import record_reading
from deploychecks.gonogo.tokens import create_ingest_token
from deploychecks.realtime.broadcast import group_name
from deploychecks.runs import hooks
from deploychecks.runs.models import Deployment
from deploychecks.runs.services import change_status


@pytest.fixture
def token(live_deployment, lead):
    _, secret = create_ingest_token(deployment_id=live_deployment.pk, name="Prometheus", user=lead)
    return secret


@pytest.fixture
def scheduled(monkeypatch, live_deployment):
    """The refreshes handed to Celery (no worker runs in the tests), from a clean slate."""
    monkeypatch.setattr(ingest, "_claimed_until", {})
    cache.delete(f"gonogo:panel-refresh:{live_deployment.pk}")
    calls = []
    monkeypatch.setattr(
        ingest.refresh_signals_panel,
        "apply_async",
        lambda args, countdown: calls.append((args, countdown)),
    )
    return calls


def _post(deployment, secret, value, **extra):
    response = Client().post(
        f"/api/deployments/{deployment.pk}/readings",
        data=json.dumps({"signal": "Error rate", "value": value, **extra}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content
    return response


async def _receive(layer, channel):
    return await asyncio.wait_for(layer.receive(channel), timeout=10)


def _seq(deployment) -> int:
    return Deployment.objects.values_list("seq", flat=True).get(pk=deployment.pk)


def test_a_reading_that_keeps_its_grade_is_stored_with_four_queries_and_no_audit(
    live_deployment, token, scheduled, django_assert_max_num_queries
):
    _post(live_deployment, token, 0.1)  # the signal's first reading grades it (green)
    seq, events = _seq(live_deployment), AuditEvent.objects.count()
    # The token, the signal, the insert that checks the grade still holds, the status
    # read again (and, in this test's transaction, a savepoint and its release).
    with django_assert_max_num_queries(6) as queries:
        response = _post(live_deployment, token, 0.2)
    sql = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) == 4, sql
    assert not any("FOR UPDATE" in q or "audit_" in q for q in sql), sql
    assert response.json()["grade"] == "green"
    assert (_seq(live_deployment), AuditEvent.objects.count()) == (seq, events)
    assert Reading.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_reading_is_stored_while_someone_holds_the_deployment_row(
    purge_audit_events, live_deployment, token, scheduled
):
    _post(live_deployment, token, 0.1)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            Deployment.objects.select_for_update().get(pk=live_deployment.pk)
            locked.set()
            release.wait(5)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(5)
        started = time.monotonic()
        _post(live_deployment, token, 0.2)
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert elapsed < 2, f"the reading waited {elapsed:.1f} s for the deployment's row"
    assert Reading.objects.count() == 2


def test_the_readings_of_a_window_share_one_refresh_with_one_number(
    live_deployment, token, scheduled, settings, django_capture_on_commit_callbacks
):
    settings.INGEST_PANEL_REFRESH_SECONDS = 30  # the whole test is one window
    _post(live_deployment, token, 0.1)
    for value in (0.11, 0.12, 0.13, 0.42):
        with django_capture_on_commit_callbacks(execute=True):
            _post(live_deployment, token, value)
    assert scheduled == [((live_deployment.pk,), 30)]

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(live_deployment.pk), channel)
    before = _seq(live_deployment)
    with django_capture_on_commit_callbacks(execute=True):
        ingest.refresh_signals_panel(live_deployment.pk)  # what the worker runs
    message = async_to_sync(_receive)(layer, channel)
    assert (message["kind"], message["seq"]) == ("signals", before + 1)
    assert "0.42" in json.loads(message["text_read"])["html"]
    assert _seq(live_deployment) == before + 1


def test_a_reading_that_changes_the_grade_is_audited_and_broadcast_at_once(
    live_deployment, token, scheduled
):
    _post(live_deployment, token, 0.1)
    scheduled.clear()
    seq = _seq(live_deployment)
    response = _post(live_deployment, token, 0.7)  # yellow from 0.5
    assert response.json()["grade"] == "yellow"
    change = AuditEvent.objects.filter(action="signal.grade_changed").latest("id")
    assert (change.before, change.after) == ({"grade": "green"}, {"grade": "yellow", "value": 0.7})
    assert change.actor_id is None and change.seq == seq + 1
    verdict = AuditEvent.objects.filter(action="verdict.changed").latest("id")
    assert verdict.after["level"] == "yellow"
    assert _seq(live_deployment) == seq + 2 and scheduled == []


def test_a_reading_older_than_the_latest_is_judged_under_the_lock(
    live_deployment, token, scheduled
):
    _post(live_deployment, token, 0.1)
    seq = _seq(live_deployment)
    earlier = (timezone.now() - timedelta(minutes=2)).isoformat()
    _post(live_deployment, token, 0.2, observed_at=earlier)
    assert _seq(live_deployment) == seq + 1  # its own broadcast, at once


@pytest.mark.django_db(transaction=True)
def test_concurrent_readings_by_tokens_and_people_end_with_the_grade_of_the_latest(
    purge_audit_events, live_deployment, token, engineer, scheduled
):
    values = [0.1, 3.0, 0.7, 0.2, 5.0, 0.6, 0.1, 2.0]
    errors = []

    def send(n):
        try:
            for i in range(6):
                value = values[(n + i) % len(values)]
                if n % 3 == 0:
                    record_reading(
                        deployment_id=live_deployment.pk,
                        signal_name="Error rate",
                        value=value,
                        user=engineer,
                    )
                else:
                    _post(live_deployment, token, value)
        except Exception as exc:  # noqa: BLE001  reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    signal = DeploymentSignal.objects.get(deployment=live_deployment, name="Error rate")
    latest = Reading.objects.filter(signal=signal).order_by("-observed_at", "-pk").first()
    assert Reading.objects.filter(signal=signal).count() == 36
    assert signal.grade == grading.grade(latest.value, signal.thresholds)


def _reading_in_a_thread(deployment, secret, value, outcome):
    def send():
        try:
            response = Client().post(
                f"/api/deployments/{deployment.pk}/readings",
                data=json.dumps({"signal": "Error rate", "value": value}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            outcome.append(response.status_code)
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_reading_checked_open_before_the_deployment_finished_is_refused_after_it(
    purge_audit_events, monkeypatch, live_deployment, token, lead, scheduled
):
    """The fast path read the status (open), the deployment was aborted and committed,
    then the reading went on: it is refused, nothing stored (it was stored before)."""
    _post(live_deployment, token, 0.1)
    checked, go_on = threading.Event(), threading.Event()
    check_open = ingest._check_open

    def check_open_then_pause(deployment, token):
        check_open(deployment, token)
        checked.set()
        assert go_on.wait(10)

    monkeypatch.setattr(ingest, "_check_open", check_open_then_pause)
    outcome = []
    thread = _reading_in_a_thread(live_deployment, token, 0.2, outcome)
    try:
        assert checked.wait(10)
        change_status(deployment_id=live_deployment.pk, to="aborted", user=lead)
    finally:
        go_on.set()
        thread.join(10)
    assert outcome == [409]
    assert Reading.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_finishing_waits_for_a_reading_being_stored_and_later_ones_are_refused(
    purge_audit_events, live_deployment, token, lead, scheduled
):
    """Finishing holds the signals until its commit: a reading that arrives meanwhile
    waits for it and is refused, so no reading is committed after the finish."""
    _post(live_deployment, token, 0.1)
    finishing, finish = threading.Event(), threading.Event()

    def hold_the_finish(change):
        finishing.set()
        assert finish.wait(10)

    hooks.finished.connect(hold_the_finish)
    errors = []

    def abort():
        try:
            change_status(deployment_id=live_deployment.pk, to="aborted", user=lead)
        except Exception as exc:  # noqa: BLE001  reported below
            errors.append(exc)
        finally:
            connection.close()

    aborting = threading.Thread(target=abort)
    aborting.start()
    outcome = []
    try:
        assert finishing.wait(10)
        thread = _reading_in_a_thread(live_deployment, token, 0.2, outcome)
        time.sleep(0.5)
        assert outcome == []  # waiting for the signal the finish holds
        finish.set()
        thread.join(10)
    finally:
        finish.set()
        aborting.join(10)
        hooks.finished.disconnect(hold_the_finish)
    assert errors == []
    assert outcome == [409]
    assert Reading.objects.count() == 1
