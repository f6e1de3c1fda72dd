"""Embedded mode (`make run`, no Redis): the web process's scheduler delivers webhooks;
and the settings that start-up refuses."""

import os
import subprocess
import sys

import pytest

from deploychecks.core.scheduler import run_beat_schedule_once
from deploychecks.webhooks.models import Delivery
from tests.webhook_receiver import verify
from tests.webhooks import scenario

pytestmark = pytest.mark.django_db


def test_the_in_process_scheduler_delivers_webhooks(
    settings, subscribe, webhook_receiver, deployment, lead
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    receiver = webhook_receiver()
    subscription = subscribe(receiver.url, event_types=["deployment.status_changed"])
    scenario.start(deployment, lead)

    ran = run_beat_schedule_once()

    assert "webhooks.deliver_webhooks" in ran
    assert [verify(r, subscription.secret)["type"] for r in receiver.requests] == [
        "deployment.status_changed"
    ]
    assert Delivery.objects.get().status == "delivered"


def test_a_lease_shorter_than_two_request_timeouts_stops_start_up():
    env = {
        **os.environ,
        "WEBHOOK_DELIVERY_LEASE_SECONDS": "8",
        "REMINDER_WEBHOOK_TIMEOUT_SECONDS": "5",
        "DJANGO_SETTINGS_MODULE": "deploychecks.settings",
    }

    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert started.returncode != 0
    assert "WEBHOOK_DELIVERY_LEASE_SECONDS must be more than twice" in started.stderr
