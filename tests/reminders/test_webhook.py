"""The reminder webhook: Slack-compatible, signed, retried with backoff, failures shown,
and never sent into the internal network."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.core import webhooks
from deploychecks.reminders import services
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import DeploymentWebhook, ReminderDelivery
from deploychecks.runs.services import RunError
from tests.reminders.conftest import WEBHOOK_SECRET as SECRET
from tests.reminders.conftest import shift_into_past
from tests.webhook_receiver import PUBLIC_ADDRESS, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_reminder(live_deployment):
    shift_into_past(live_deployment, timedelta(minutes=16))
    return live_deployment.reminders.get(offset_minutes=15)


def _webhook(reminder):
    return ReminderDelivery.objects.get(reminder=reminder, channel="webhook", purpose="reminder")


def test_webhook_is_slack_compatible_and_signed(settings, due_reminder, webhook_receiver):
    sink = webhook_receiver()
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
    assert verify(request, SECRET) == request["json"]
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-id"] == headers["X-Deploychecks-Delivery"]
    assert headers["webhook-id"] == f"{due_reminder.pk}-reminder"
    assert _webhook(due_reminder).status == "sent"


def test_webhook_is_retried_with_exponential_backoff(settings, due_reminder, webhook_receiver):
    sink = webhook_receiver(fail_first=2)
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
    assert {
        (r["headers"]["webhook-id"], r["headers"]["X-Deploychecks-Delivery"]) for r in sink.requests
    } == {(f"{due_reminder.pk}-reminder", f"{due_reminder.pk}-reminder")}
    # The page and the email went out at once, untouched by the webhook's trouble.
    others = ReminderDelivery.objects.filter(reminder=due_reminder).exclude(channel="webhook")
    assert {(d.channel, d.status, d.attempts) for d in others} == {
        ("page", "sent", 1),
        ("email", "sent", 1),
    }


def test_webhook_gives_up_after_the_limit_and_the_run_page_says_so(
    settings, due_reminder, webhook_receiver, engineer
):
    sink = webhook_receiver(fail_first=100, status=503)
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
    settings, live_deployment, lead, webhook_receiver
):
    global_sink, own_sink = webhook_receiver(), webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = global_sink.url
    own_secret = webhooks.new_secret()
    services.set_webhook(
        deployment_id=live_deployment.pk, url=own_sink.url, secret=own_secret, user=lead
    )
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert global_sink.requests == [] and len(own_sink.requests) == 1
    verify(own_sink.requests[0], own_secret)


def test_the_timeout_setting_is_honoured(settings, due_reminder, webhook_receiver):
    sink = webhook_receiver(delay=8)
    settings.REMINDER_WEBHOOK_URL = sink.url
    assert settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS == 5.0

    started = time.monotonic()
    dispatch_due_reminders()
    elapsed = time.monotonic() - started

    assert 5.0 <= elapsed < 7.0
    assert _webhook(due_reminder).last_error == "webhook timed out after 5 s"


# --- A webhook needs a secret ----------------------------------------------------------


def test_a_lead_cannot_set_a_webhook_without_a_secret(live_deployment, lead, network):
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS])

    with pytest.raises(RunError, match="A webhook needs a signing secret: whsec_"):
        services.set_webhook(
            deployment_id=live_deployment.pk, url="https://hooks.example.com/x", user=lead
        )
    with pytest.raises(RunError, match="must be in the Standard Webhooks form"):
        services.set_webhook(
            deployment_id=live_deployment.pk,
            url="https://hooks.example.com/x",
            secret="s3cret",
            user=lead,
        )

    assert not DeploymentWebhook.objects.filter(deployment=live_deployment).exists()


def test_an_empty_secret_keeps_the_current_one(live_deployment, lead, network):
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS])
    services.set_webhook(
        deployment_id=live_deployment.pk,
        url="https://hooks.example.com/a",
        secret=SECRET,
        user=lead,
    )

    services.set_webhook(
        deployment_id=live_deployment.pk, url="https://hooks.example.com/b", user=lead
    )

    hook = DeploymentWebhook.objects.get(deployment=live_deployment)
    assert (hook.url, hook.secret) == ("https://hooks.example.com/b", SECRET)


def test_a_stored_webhook_without_a_secret_is_not_sent(live_deployment, webhook_receiver):
    """A deployment's webhook saved unsigned before secrets were required."""
    sink = webhook_receiver()
    DeploymentWebhook.objects.create(deployment=live_deployment, url=sink.url, secret="")
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert sink.requests == []
    reminder = live_deployment.reminders.get(offset_minutes=15)
    assert _webhook(reminder).last_error == "A webhook needs a signing secret."


# --- No way into the internal network --------------------------------------------------

INTERNAL_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://10.0.0.5/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8000/hook",
    "http://localhost:8000/hook",
    "http://[fd00:ec2::254]/latest/meta-data/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_lead_cannot_point_the_webhook_at_the_internal_network(
    settings, live_deployment, lead, network, url
):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    with pytest.raises(RunError, match="webhooks may only go to public addresses"):
        services.set_webhook(deployment_id=live_deployment.pk, url=url, secret=SECRET, user=lead)

    assert not DeploymentWebhook.objects.filter(deployment=live_deployment).exists()
    assert network.refused == []


@pytest.mark.parametrize("whose", ["global", "deployment"])
@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "localhost (127.0.0.1) is a loopback address"),
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
    ],
)
def test_a_webhook_to_the_internal_network_is_refused_when_sent(
    settings, live_deployment, webhook_receiver, network, whose, host, reason
):
    """Webhooks stored before the check existed, or a global one: refused at send time."""
    sink = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    url = sink.url_for(host)
    if whose == "global":
        settings.REMINDER_WEBHOOK_URL = url
    else:
        DeploymentWebhook.objects.create(deployment=live_deployment, url=url, secret=SECRET)
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert sink.requests == [] and network.refused == []
    error = _webhook(live_deployment.reminders.get(offset_minutes=15)).last_error
    assert f"The webhook host {reason}" in error


def test_a_name_that_resolves_to_loopback_after_it_was_set_is_refused_when_sent(
    settings, live_deployment, lead, webhook_receiver, network
):
    """DNS rebinding between set and send: public when the lead set it, loopback later."""
    sink = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS])
    services.set_webhook(
        deployment_id=live_deployment.pk,
        url=sink.url_for("hooks.example.com"),
        secret=SECRET,
        user=lead,
    )
    network.resolve("hooks.example.com", ["127.0.0.1"])
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert sink.requests == [] and network.refused == []
    error = _webhook(live_deployment.reminders.get(offset_minutes=15)).last_error
    assert "hooks.example.com (127.0.0.1) is a loopback address" in error


def test_a_redirect_is_not_followed(settings, due_reminder, webhook_receiver):
    inside = webhook_receiver()
    redirector = webhook_receiver(redirect_to=inside.url_for("127.0.0.1"))
    settings.REMINDER_WEBHOOK_URL = redirector.url

    dispatch_due_reminders()

    assert len(redirector.requests) == 1 and inside.requests == []
    assert _webhook(due_reminder).last_error == (
        "HTTP 302 from the webhook (redirects are not followed)"
    )
