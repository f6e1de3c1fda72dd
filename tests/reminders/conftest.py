"""Fixtures for the reminder tests: a deployment gone live, time shifting, a webhook sink."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from deploychecks.reminders.models import Reminder, ReminderRule
from deploychecks.runs.services import change_status


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    # Real time unless a test compresses it; no global webhook unless a test sets one.
    settings.REMINDER_TIME_SCALE = 1.0
    settings.REMINDER_WEBHOOK_URL = ""
    settings.REMINDER_WEBHOOK_SECRET = ""
    settings.REMINDER_ESCALATE_MINUTES = 15.0
    settings.REMINDER_RETRY_BACKOFF_SECONDS = 30.0
    settings.REMINDER_MAX_ATTEMPTS = 6
    settings.REMINDER_LATE_AFTER_SECONDS = 120.0
    settings.SITE_URL = "https://deploychecks.example.com"


def go_live(deployment, user):
    change_status(deployment_id=deployment.pk, to="in_progress", user=user)
    change_status(deployment_id=deployment.pk, to="monitoring", user=user)
    deployment.refresh_from_db()
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


class WebhookSink:
    """A local HTTP server that records requests and fails the first `fail_first` of them."""

    def __init__(self, fail_first: int = 0, status: int = 500):
        self.fail_first = fail_first
        self.status = status
        self.requests: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.requests.append(
                    {
                        "headers": dict(self.headers),
                        "body": body,
                        "json": json.loads(body or b"null"),
                    }
                )
                failing = len(sink.requests) <= sink.fail_first
                self.send_response(sink.status if failing else 200)
                self.end_headers()
                self.wfile.write(b"no" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_sink():
    sinks = []

    def make(**kwargs):
        sink = WebhookSink(**kwargs).__enter__()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.__exit__(None, None, None)


def now():
    return timezone.now()
