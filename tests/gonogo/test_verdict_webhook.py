"""A worse verdict goes to the reminders' webhook through the one signed sender."""

import logging
import time

import pytest

from deploychecks.gonogo.tasks import post_verdict_webhook
from deploychecks.reminders.models import DeploymentWebhook
from tests.webhook_receiver import verify

pytestmark = pytest.mark.django_db

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TEXT = "RED — Rollback recommended: Data corruption: yes"


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.REMINDER_WEBHOOK_URL = ""
    settings.REMINDER_WEBHOOK_SECRET = SECRET
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = 5.0
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


def test_a_worse_verdict_goes_to_the_reminders_webhook_signed(
    settings, live_deployment, webhook_receiver
):
    """The reminders' delivery channel: the global webhook here, signed both ways."""
    receiver = webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = receiver.url

    post_verdict_webhook(live_deployment.pk, TEXT)

    [request] = receiver.requests
    assert verify(request, SECRET) == {"text": TEXT}
    headers = request["headers"]
    assert headers["webhook-id"].startswith("verdict-")
    assert headers["webhook-id"] == headers["X-Deploychecks-Delivery"]
    assert headers["User-Agent"] == "Deploychecks-GoNoGo/1"


def test_a_redelivered_verdict_task_keeps_its_webhook_id(
    settings, live_deployment, webhook_receiver
):
    """The broker may run a task twice; the receiver sees one id and can drop the repeat."""
    receiver = webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = receiver.url

    for _ in range(2):
        post_verdict_webhook.apply(args=(live_deployment.pk, TEXT), task_id="task-7")

    assert [r["headers"]["webhook-id"] for r in receiver.requests] == ["verdict-task-7"] * 2


def test_the_deployments_own_webhook_and_secret_are_used(
    settings, live_deployment, webhook_receiver
):
    global_receiver, own = webhook_receiver(), webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = global_receiver.url
    own_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    DeploymentWebhook.objects.create(deployment=live_deployment, url=own.url, secret=own_secret)

    post_verdict_webhook(live_deployment.pk, TEXT)

    assert global_receiver.requests == []
    verify(own.requests[0], own_secret)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "localhost (127.0.0.1) is a loopback address"),
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
    ],
)
def test_a_verdict_is_not_posted_into_the_internal_network(
    settings, live_deployment, webhook_receiver, network, caplog, host, reason
):
    receiver = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.REMINDER_WEBHOOK_URL = receiver.url_for(host)

    with caplog.at_level(logging.WARNING, logger="deploychecks.gonogo"):
        post_verdict_webhook(live_deployment.pk, TEXT)

    assert receiver.requests == [] and network.refused == []
    assert f"could not post the verdict of deployment {live_deployment.pk}" in caplog.text
    assert f"The webhook host {reason}" in caplog.text


def test_an_unsigned_deployment_webhook_gets_no_verdict(live_deployment, webhook_receiver, caplog):
    """A deployment's webhook saved without a secret before secrets were required."""
    receiver = webhook_receiver()
    DeploymentWebhook.objects.create(deployment=live_deployment, url=receiver.url, secret="")

    with caplog.at_level(logging.WARNING, logger="deploychecks.gonogo"):
        post_verdict_webhook(live_deployment.pk, TEXT)

    assert receiver.requests == []
    assert "A webhook needs a signing secret." in caplog.text


def test_the_timeout_setting_is_honoured(settings, live_deployment, webhook_receiver, caplog):
    receiver = webhook_receiver(delay=8)
    settings.REMINDER_WEBHOOK_URL = receiver.url

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="deploychecks.gonogo"):
        post_verdict_webhook(live_deployment.pk, TEXT)
    elapsed = time.monotonic() - started

    assert 5.0 <= elapsed < 7.0
    assert "webhook timed out after 5 s" in caplog.text
