"""Fixtures for the reminder tests: a deployment gone live, time shifting, a webhook receiver."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deploychecks.reminders.models import Reminder, ReminderRule
from tests import gates

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    # Real time unless a test compresses it; no global webhook unless a test sets one
    # (signed with this secret, and on 127.0.0.1, where the test receivers listen).
    settings.REMINDER_TIME_SCALE = 1.0
    settings.REMINDER_WEBHOOK_URL = ""
    settings.REMINDER_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = 5.0
    settings.REMINDER_ESCALATE_MINUTES = 15.0
    settings.REMINDER_RETRY_BACKOFF_SECONDS = 30.0
    settings.REMINDER_MAX_ATTEMPTS = 6
    settings.REMINDER_LATE_AFTER_SECONDS = 120.0
    settings.SITE_URL = "https://deploychecks.example.com"


def go_live(deployment, user):
    gates.go_live(deployment, user)
    # As in real life, the rollout took a while before go-live.
    deployment.started_at = deployment.go_live_at - timedelta(hours=2)
    deployment.save(update_fields=["started_at"])
    return deployment


@pytest.fixture
def live_deployment(deployment, lead):
    """Here (unlike tests/conftest.py's) the rollout took two hours, as reminders expect."""
    return go_live(deployment, lead)


def set_rules(revision, *specs):
    """Replace a revision's rules: specs are (title, offset) or (title, (start, end, every))."""
    ReminderRule.objects.filter(revision=revision).delete()
    for position, (title, when, *rest) in enumerate(specs, start=1):
        rule = ReminderRule(
            revision=revision,
            position=position,
            title=title,
            notify=rest[0] if rest else ["lead", "engineers"],
        )
        if isinstance(when, tuple):
            rule.kind = "repeat"
            rule.start_minutes, rule.end_minutes, rule.interval_minutes = when
        else:
            rule.kind = "once"
            rule.offset_minutes = when
        rule.save()


def shift_into_past(deployment, by: timedelta):
    """Pretend the deployment went live `by` earlier: its reminders fell due meanwhile."""
    deployment.go_live_at -= by
    deployment.started_at -= by
    deployment.save(update_fields=["go_live_at", "started_at"])
    for reminder in Reminder.objects.filter(deployment=deployment):
        reminder.due_at -= by
        reminder.save(update_fields=["due_at"])


def now():
    return timezone.now()
