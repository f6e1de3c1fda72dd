"""Sending the outbox: signed, in order per deployment, retried with backoff, given up,
claimed again after a dispatcher died, redelivered on request; a subscription that keeps
failing is disabled and its owner emailed."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks import Webhook

from deploychecks.audit.models import AuditEvent
from deploychecks.core import webhooks
from deploychecks.webhooks import services
from deploychecks.webhooks.dispatch import claim_next, deliver_due_webhooks, delivery_id
from deploychecks.webhooks.models import Attempt, Delivery, Event
from tests.webhook_receiver import verify
from tests.webhooks import scenario

pytestmark = pytest.mark.django_db


def _started(deployment, lead, engineer):
    """Two events: started, and an item ticked."""
    scenario.start(deployment, lead)
    scenario.tick(deployment, deployment.items.first(), engineer)


def _sequences(receiver) -> list[int]:
    return [request["json"]["data"]["sequence"] for request in receiver.requests]


def test_a_receiver_verifies_each_delivery_with_standard_webhooks(
    subscribe, webhook_receiver, deployment, lead, engineer
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url)
    _started(deployment, lead, engineer)

    report = deliver_due_webhooks()

    assert len(report.delivered) == 2 and not report.failed
    events = list(Event.objects.order_by("sequence"))
    for request, event in zip(receiver.requests, events, strict=True):
        payload = verify(request, subscription.secret)
        assert Webhook(subscription.secret).verify(request["body"], request["headers"]) == payload
        assert request["headers"]["webhook-id"] == f"evt_{event.pk}"
        assert request["headers"]["User-Agent"] == "Deploychecks-Webhooks/1"
        assert payload["type"] == event.type
        assert payload["timestamp"] == event.created_at.isoformat().replace("+00:00", "Z")
        assert payload["data"] == event.payload
    assert _sequences(receiver) == [1, 2]
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    attempt = Attempt.objects.order_by("pk").first()
    assert attempt.ok and attempt.status_code == 200 and attempt.response_excerpt == "ok"
    assert attempt.duration_ms is not None and attempt.duration_ms < 5000


def test_event_n_plus_one_waits_until_event_n_is_delivered(
    subscribe, webhook_receiver, revision, deployment, lead, engineer
):
    receiver = webhook_receiver(fail_first=1, status=503)
    subscribe(receiver.url)
    _started(deployment, lead, engineer)
    other = scenario.create(revision, lead, version="2.1.0")

    now = timezone.now()
    deliver_due_webhooks(now=now)

    # The first of this deployment failed: its second waits; another deployment does not.
    assert [
        (r["json"]["data"]["deployment"]["id"], r["json"]["data"]["sequence"])
        for r in receiver.requests
    ] == [
        (deployment.pk, 1),
        (other.pk, 1),
    ]
    first = Delivery.objects.get(deployment=deployment, sequence=1)
    assert first.status == "pending" and first.next_attempt_at == now + timedelta(seconds=30)
    assert Delivery.objects.get(deployment=deployment, sequence=2).attempts == 0

    deliver_due_webhooks(now=now + timedelta(seconds=29))
    assert len(receiver.requests) == 2  # still backing off

    deliver_due_webhooks(now=now + timedelta(seconds=31))
    mine = [
        r["json"]["data"]["sequence"]
        for r in receiver.requests
        if r["json"]["data"]["deployment"]["id"] == deployment.pk
    ]
    assert mine == [1, 1, 2]


def test_failures_back_off_exponentially_then_give_up_and_let_the_next_go(
    settings, subscribe, webhook_receiver, deployment, lead, engineer
):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    receiver = webhook_receiver(fail_first=4, status=500, body=b'{"error": "database is down"}')
    subscribe(receiver.url)
    _started(deployment, lead, engineer)
    first = Delivery.objects.get(sequence=1)
    now = timezone.now()

    waits = []
    for _ in range(4):
        deliver_due_webhooks(now=now)
        first.refresh_from_db()
        waits.append((first.next_attempt_at - now).total_seconds())
        now = first.next_attempt_at

    assert waits[:3] == [30, 60, 120]
    assert first.status == "failed" and first.attempts == 4
    assert first.last_error == "HTTP 500 from the webhook"
    attempts = list(first.attempt_log.order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert {(a.ok, a.status_code, a.response_excerpt) for a in attempts} == {
        (False, 500, '{"error": "database is down"}')
    }
    # Given up for good: the next event of the deployment goes (the receiver is back).
    assert _sequences(receiver) == [1, 1, 1, 1, 2]
    assert Delivery.objects.get(sequence=2).status == "delivered"


def test_a_delivery_whose_dispatcher_died_mid_send_is_sent_again_with_the_same_id(
    subscribe, webhook_receiver, deployment, lead
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url)
    scenario.start(deployment, lead)
    now = timezone.now()
    claimed = claim_next(now=now)
    # It sent, and died before recording the answer.
    webhooks.post(
        subscription.url,
        json.dumps({"data": {"sequence": 1}}).encode(),
        secret=subscription.secret,
        delivery_id=delivery_id(claimed),
        user_agent="Deploychecks-Webhooks/1",
    )

    deliver_due_webhooks(now=now + timedelta(seconds=59))
    assert len(receiver.requests) == 1  # its lease still holds

    deliver_due_webhooks(now=now + timedelta(seconds=61))

    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids == [f"evt_{claimed.event_id}"] * 2
    claimed.refresh_from_db()
    assert claimed.status == "delivered" and claimed.attempts == 2
    log = list(claimed.attempt_log.order_by("number"))
    assert [(a.number, a.ok) for a in log] == [(1, False), (2, True)]
    assert log[0].error.startswith("interrupted: the dispatcher stopped")


def test_a_subscription_that_keeps_failing_is_disabled_and_its_owner_emailed(
    settings,
    subscribe,
    webhook_receiver,
    admin_user,
    deployment,
    lead,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 1
    settings.WEBHOOK_MAX_ATTEMPTS = 10
    receiver = webhook_receiver(fail_first=100, status=502)
    subscription = subscribe(receiver.url, name="Ops channel")
    scenario.start(deployment, lead)
    delivery = Delivery.objects.get()
    start = timezone.now()

    # Three failures in 90 s: a short outage, not disabled.
    for offset in (0, 30, 90):
        deliver_due_webhooks(now=start + timedelta(seconds=offset))
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 3
    assert subscription.failing_since == start

    # Still failing two hours later: disabled, and the owner hears of it.
    with django_capture_on_commit_callbacks(execute=True):
        deliver_due_webhooks(now=start + timedelta(hours=2))
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_reason == (
        "Disabled automatically after 4 failed attempts in a row over 2.0 h."
    )
    assert [m.to for m in mail.outbox] == [[admin_user.email]]
    assert mail.outbox[0].subject == "[Deploychecks] Webhook disabled: Ops channel"
    assert f"/webhooks/{subscription.pk}/deliveries/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="webhook.disabled", actor=None).exists()
    sent = len(receiver.requests)
    deliver_due_webhooks(now=start + timedelta(days=1))
    assert len(receiver.requests) == sent  # nothing goes to a disabled subscription

    # Enabled again (the receiver fixed): what waited goes out, the run of failures forgotten.
    receiver.fail_first = 0
    services.set_active(subscription_id=subscription.pk, user=admin_user, active=True)
    deliver_due_webhooks(now=start + timedelta(days=1))
    delivery.refresh_from_db()
    subscription.refresh_from_db()
    assert delivery.status == "delivered" and subscription.consecutive_failures == 0


def test_a_success_ends_the_run_of_failures(subscribe, webhook_receiver, deployment, lead):
    receiver = webhook_receiver(fail_first=2, status=500)
    subscription = subscribe(receiver.url)
    scenario.start(deployment, lead)
    now = timezone.now()
    for offset in (0, 30, 90):
        deliver_due_webhooks(now=now + timedelta(seconds=offset))

    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.failing_since is None
    assert len(receiver.requests) == 3


def test_redeliver_sends_the_event_again_outside_the_order(
    subscribe, webhook_receiver, admin_user, deployment, lead, engineer
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url)
    _started(deployment, lead, engineer)
    deliver_due_webhooks()
    first = Delivery.objects.get(sequence=1)

    again = services.redeliver(
        subscription_id=subscription.pk, delivery_id=first.pk, user=admin_user
    )
    twice = services.redeliver(
        subscription_id=subscription.pk, delivery_id=first.pk, user=admin_user
    )
    deliver_due_webhooks()

    assert twice.pk == again.pk  # a double click sends it once
    assert len(receiver.requests) == 3
    assert receiver.requests[2]["body"] == receiver.requests[0]["body"]
    assert receiver.requests[2]["headers"]["webhook-id"] == f"evt_{first.event_id}"
    again.refresh_from_db()
    assert again.is_redelivery and again.status == "delivered"
    first.refresh_from_db()
    assert first.status == "delivered" and first.attempts == 1
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1


def test_redelivering_to_a_disabled_subscription_is_refused(
    subscribe, webhook_receiver, admin_user, deployment, lead
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url)
    scenario.start(deployment, lead)
    deliver_due_webhooks()
    services.set_active(subscription_id=subscription.pk, user=admin_user, active=False)

    with pytest.raises(services.RunError, match="disabled: enable it first"):
        services.redeliver(
            subscription_id=subscription.pk,
            delivery_id=Delivery.objects.get().pk,
            user=admin_user,
        )


def test_the_slack_format_is_one_readable_escaped_line_with_a_link(
    subscribe, webhook_receiver, revision, lead, engineer
):
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url, format="slack")
    deployment = scenario.create(revision, lead, engineers=[engineer])
    deployment.service = "checkout <https://evil.example|click> & <!channel>"
    deployment.save(update_fields=["service"])
    scenario.start(deployment, lead)

    deliver_due_webhooks()

    bodies = [verify(request, subscription.secret) for request in receiver.requests]
    assert all(set(body) == {"text"} for body in bodies)
    link = f"<https://deploychecks.example.com/deployments/{deployment.pk}/|Open the deployment>"
    assert bodies[0]["text"] == (
        ":clipboard: *checkout-api 2.0.0 (production)* Deployment created by Lena Lead "
        f"from Production deployment r1 {link}"
    )
    assert bodies[1]["text"] == (
        ":arrow_forward: *checkout &lt;https://evil.example|click&gt; &amp; &lt;!channel&gt; "
        f"2.0.0 (production)* Status: Planned → In progress (by Lena Lead) {link}"
    )


def test_an_address_that_turned_internal_is_refused_at_send_time(
    settings, network, subscribe, deployment, lead
):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    network.resolve("hooks.test", ["93.184.215.14"], ["10.0.0.7"])
    subscribe("https://hooks.test/in")
    scenario.start(deployment, lead)

    deliver_due_webhooks()

    attempt = Attempt.objects.get()
    assert not attempt.ok and attempt.status_code is None
    assert attempt.error == (
        "The webhook host hooks.test (10.0.0.7) is a private address; webhooks may only go to "
        "public addresses (or hosts named in WEBHOOK_ALLOWED_HOSTS)."
    )
    assert network.refused == []  # nothing was even tried
