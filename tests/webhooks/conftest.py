"""Fixtures for the webhook tests: subscriptions, and settings that make retries testable."""

import pytest

from deploychecks.webhooks import services
from deploychecks.webhooks.catalog import EVENT_TYPES
from tests.conftest import may_start_deployments


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    # Receivers listen on 127.0.0.1; delivery is driven by the tests (no kick to a
    # worker), with the production schedule of retries unless a test changes it.
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    settings.WEBHOOK_MAX_ATTEMPTS = 8
    settings.WEBHOOK_RETRY_BACKOFF_SECONDS = 30.0
    settings.WEBHOOK_DELIVERY_LEASE_SECONDS = 60.0
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 10
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 24.0
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = 5.0
    settings.SITE_URL = "https://deploychecks.example.com"


@pytest.fixture
def subscribe(admin_user):
    """`subscribe(url, **fields)`: a subscription made through the service (an
    admin's, every event type and service unless told otherwise)."""

    def make(url, *, user=None, event_types=None, service="", format="standard", name="Hook"):  # noqa: A002
        return services.create_subscription(
            user=user or admin_user,
            name=name,
            url=url,
            service=service,
            event_types=list(event_types or EVENT_TYPES),
            format=format,
        )

    return make


@pytest.fixture
def leading(lead, deployment):
    """The lead of the default deployment (service checkout-api), who may start deployments."""
    return may_start_deployments(lead)
