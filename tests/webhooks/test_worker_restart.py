"""The real stack: a Celery worker and beat on Redis deliver to a receiver on localhost,
and the worker is killed mid-stream (SIGKILL, while a request is on the wire) and
replaced by another.

The receiver verifies every request with the `standardwebhooks` package and, as
the specification asks of receivers, drops a repeated webhook-id. It must see
every event of both deployments exactly once, every event type among them, and
each deployment's events in order. The only repeats allowed are the requests that
were on the wire when the worker died (sent again after their lease, with the
same webhook-id): that is the delivery guarantee, stated in docs/decisions.md.
"""

import os
import signal
import time

import pytest

from deploychecks.webhooks.catalog import EVENT_TYPES
from deploychecks.webhooks.dispatch import INTERRUPTED
from deploychecks.webhooks.models import Delivery, Event
from tests.reminders.processes import (
    BEAT_READY,
    WORKER_READY,
    service_env,
    start_beat,
    start_worker,
    stop_all,
)
from tests.webhook_receiver import verify
from tests.webhooks import scenario

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT_SECONDS = 3  # of one request
LEASE_SECONDS = 7  # after which a delivery of a dead worker is sent again
HOLD_SECONDS = 30  # the receiver holds its answers this long while the worker is killed


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def stack(tmp_path, purge_audit_events):
    """Start workers on demand (`stack.worker(name)`) and one beat; all stopped afterwards."""
    env = service_env(
        REDIS_URL=os.environ["REDIS_URL"],
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_DISPATCH_SECONDS=0.5,
        WEBHOOK_DELIVERY_LEASE_SECONDS=LEASE_SECONDS,
        REMINDER_WEBHOOK_TIMEOUT_SECONDS=TIMEOUT_SECONDS,
        SITE_URL="https://deploychecks.example.com",
    )
    started = []

    class Stack:
        def worker(self, name):
            process = start_worker(env, name=name)
            started.append(process)
            process.wait_for_output(WORKER_READY)
            return process

    beat = start_beat(env, tmp_path / "beat-schedule", name="webhooks-beat")
    started.append(beat)
    try:
        beat.wait_for_output(BEAT_READY)
        yield Stack()
    finally:
        stop_all(started)


def test_a_receiver_sees_every_event_once_in_order_across_a_worker_restart(
    settings_override, stack, webhook_receiver, subscribe, revision, lead, engineer, approver
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url)
    scenario.one_reminder(revision)
    first = stack.worker("webhooks-worker-1")

    # Part one, delivered as it happens.
    a = scenario.create(revision, lead, engineers=[engineer], approvers={approver: "QA Lead"})
    b = scenario.create(revision, lead, engineers=[engineer], version="2.0.1")
    scenario.start(a, lead)
    scenario.start(b, lead)
    last = scenario.tick_all_but_last_before_go_live(a)
    scenario.tick(a, last, engineer)
    scenario.approve(a, approver)
    scenario.reading(a, engineer, 1)
    scenario.reading(a, engineer, 0)
    _wait_for(lambda: len(receiver.requests) >= 6, 30, "the first deliveries")

    # Hold the next answers, and kill the worker while it waits for one.
    receiver.delay = HOLD_SECONDS
    held_from = len(receiver.requests)
    for item in b.items.order_by("pk")[:3]:
        scenario.tick(b, item, engineer)
    _wait_for(lambda: len(receiver.requests) > held_from, 10, "a request to hold")
    time.sleep(0.3)  # the worker's other process may be sending too
    os.killpg(first.popen.pid, signal.SIGKILL)
    first.popen.wait(timeout=10)
    time.sleep(0.5)  # anything already on the wire has arrived
    receiver.delay = 0
    on_the_wire = {r["headers"]["webhook-id"] for r in receiver.requests[held_from:]}
    seen_before_restart = len(receiver.requests)

    # Part two, while no worker runs: it waits in the outbox.
    scenario.go_live(a, lead)
    scenario.send_reminder(a)
    scenario.post_status_update(a, lead)
    scenario.tick(a, scenario.first_after_go_live_item(a), engineer)
    scenario.roll_back(a, engineer)
    for item in b.items.order_by("pk")[3:5]:
        scenario.tick(b, item, engineer)
    time.sleep(1)
    assert len(receiver.requests) == seen_before_restart  # nobody delivers meanwhile

    stack.worker("webhooks-worker-2")
    unfinished = Delivery.objects.exclude(status="delivered")
    _wait_for(lambda: not unfinished.exists(), LEASE_SECONDS + 60, "every delivery")

    # Every request is signed; a receiver that drops repeated webhook-ids sees each event once.
    firsts, repeats = {}, []
    for request in receiver.requests:
        payload = verify(request, subscription.secret)
        webhook_id = request["headers"]["webhook-id"]
        if webhook_id in firsts:
            repeats.append(webhook_id)
            assert payload == firsts[webhook_id]
        else:
            firsts[webhook_id] = payload
    events = list(Event.objects.order_by("deployment_id", "sequence"))
    assert set(firsts) == {f"evt_{event.pk}" for event in events}
    assert {payload["type"] for payload in firsts.values()} == set(EVENT_TYPES)
    for deployment in (a, b):
        sequences = [
            payload["data"]["sequence"]
            for payload in firsts.values()
            if payload["data"]["deployment"]["id"] == deployment.pk
        ]
        assert sequences == list(range(1, len(sequences) + 1)), deployment
        assert len(sequences) == Event.objects.filter(deployment=deployment).count()
    # What was on the wire at the kill came again, once, after its lease; nothing else did.
    assert on_the_wire and sorted(repeats) == sorted(on_the_wire)
    for webhook_id in repeats:
        delivery = Delivery.objects.get(event_id=int(webhook_id.removeprefix("evt_")))
        log = list(delivery.attempt_log.order_by("number"))
        assert [(a.ok, a.error) for a in log] == [(False, INTERRUPTED), (True, "")]
    assert first.popen.returncode == -signal.SIGKILL


@pytest.fixture
def settings_override(settings):
    # This process commits the changes and kicks the worker, as the web process does.
    settings.WEBHOOK_DELIVER_ON_COMMIT = True
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = TIMEOUT_SECONDS
    return settings
