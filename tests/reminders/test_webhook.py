"""The reminder webhook: Slack-compatible, signed, retried with backoff, failures shown."""

import hashlib
import hmac
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.reminders import services
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import ReminderDelivery
from tests.reminders.conftest import shift_into_past

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-0123456789"


@pytest.fixture
def due_reminder(live_deployment):
    shift_into_past(live_deployment, timedelta(minutes=16))
    return live_deployment.reminders.get(offset_minutes=15)


def _webhook(reminder):
    return ReminderDelivery.objects.get(reminder=reminder, channel="webhook", purpose="reminder")


def test_webhook_is_slack_compatible_and_signed(settings, due_reminder, webhook_sink):
    sink = webhook_sink()
    settings.REMINDER_WEBHOOK_URL, settings.REMINDER_WEBHOOK_SECRET = sink.url, SECRET

    dispatch_due_reminders()

    [request] = sink.requests
    assert list(request["json"]) == ["text"]
    text = request["json"]["text"]
    assert "Re-run the smoke tests" in text and "checkout-api 2.0.0" in text
    assert (
        f"<https://deploychecks.example.com/deployments/{due_reminder.deployment_id}/"
        f"#reminder-{due_reminder.pk}|Open the deployment>"
    ) in text
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    timestamp = headers["X-Deploychecks-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 30
    expected = hmac.new(
        SECRET.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256
    ).hexdigest()
    assert headers["X-Deploychecks-Signature"] == f"sha256={expected}"
    assert headers["X-Deploychecks-Delivery"] == f"{due_reminder.pk}-reminder"
    assert _webhook(due_reminder).status == "sent"


def test_webhook_is_retried_with_exponential_backoff(settings, due_reminder, webhook_sink):
    sink = webhook_sink(fail_first=2)
    settings.REMINDER_WEBHOOK_URL, settings.REMINDER_WEBHOOK_SECRET = sink.url, SECRET
    settings.REMINDER_RETRY_BACKOFF_SECONDS = 0.5
    start = timezone.now()

    def dispatch_at(seconds):
        dispatch_due_reminders(now=start + timedelta(seconds=seconds))

    dispatch_at(0)
    first = _webhook(due_reminder)
    assert (first.status, first.attempts, first.last_error) == (
        "pending",
        1,
        "HTTP 500 from the webhook",
    )
    assert timedelta(seconds=0.45) < first.next_attempt_at - first.reminder.sent_at
    dispatch_at(0)  # too early: the backoff has not passed
    assert len(sink.requests) == 1
    dispatch_at(0.6)
    second = _webhook(due_reminder)
    assert (second.status, second.attempts) == ("pending", 2)
    dispatch_at(1.1)  # the second backoff is twice as long
    assert len(sink.requests) == 2
    dispatch_at(1.7)

    third = _webhook(due_reminder)
    assert (third.status, third.attempts) == ("sent", 3)
    assert len(sink.requests) == 3
    # The same delivery id on every attempt, so the receiver can drop repeats.
    assert {r["headers"]["X-Deploychecks-Delivery"] for r in sink.requests} == {
        f"{due_reminder.pk}-reminder"
    }
    # The page and the email went out at once, untouched by the webhook's trouble.
    others = ReminderDelivery.objects.filter(reminder=due_reminder).exclude(channel="webhook")
    assert {(d.channel, d.status, d.attempts) for d in others} == {
        ("page", "sent", 1),
        ("email", "sent", 1),
    }


def test_webhook_gives_up_after_the_limit_and_the_run_page_says_so(
    settings, due_reminder, webhook_sink, engineer
):
    sink = webhook_sink(fail_first=100, status=503)
    settings.REMINDER_WEBHOOK_URL = sink.url
    settings.REMINDER_RETRY_BACKOFF_SECONDS = 0
    settings.REMINDER_MAX_ATTEMPTS = 3

    for _ in range(5):
        dispatch_due_reminders()

    webhook = _webhook(due_reminder)
    assert (webhook.status, webhook.attempts) == ("failed", 3)
    assert len(sink.requests) == 3
    client = Client()
    client.force_login(engineer)
    page = client.get(due_reminder.deployment.get_absolute_url()).content.decode()
    assert "Webhook failed after 3 attempts: HTTP 503 from the webhook" in page
    assert 'class="badge warn delivery-failing">webhook failing</span>' in page


def test_unreachable_webhook_is_a_failure_not_a_crash(settings, due_reminder):
    settings.REMINDER_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    dispatch_due_reminders()
    webhook = _webhook(due_reminder)
    assert webhook.status == "pending" and "webhook unreachable" in webhook.last_error


def test_a_deployment_webhook_replaces_the_global_one(
    settings, live_deployment, lead, webhook_sink
):
    global_sink, own_sink = webhook_sink(), webhook_sink()
    settings.REMINDER_WEBHOOK_URL = global_sink.url
    services.set_webhook(
        deployment_id=live_deployment.pk, url=own_sink.url, secret=SECRET, user=lead
    )
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert global_sink.requests == [] and len(own_sink.requests) == 1
    assert own_sink.requests[0]["headers"]["X-Deploychecks-Signature"].startswith("sha256=")


def test_without_a_secret_the_webhook_is_unsigned(settings, due_reminder, webhook_sink):
    sink = webhook_sink()
    settings.REMINDER_WEBHOOK_URL = sink.url
    dispatch_due_reminders()
    assert "X-Deploychecks-Signature" not in sink.requests[0]["headers"]
