"""The production stack, for real: uvicorn, a celery worker and celery beat on Redis.

Time is compressed (REMINDER_TIME_SCALE=30: a minute of schedule in two
seconds) and beat runs the one dispatch entry every half second. A browser's
websocket (the `websockets` client with a session cookie) and the mail folder
of the worker's file email backend must see the reminders, in order, on time.
"""

import email
import json
import os
import time
from email import policy

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from websockets.sync.client import connect

from deploychecks.reminders.models import ReminderDelivery
from tests.reminders.conftest import go_live, set_rules
from tests.reminders.processes import (
    BEAT_READY,
    WORKER_READY,
    service_env,
    start_beat,
    start_uvicorn,
    start_worker,
    stop_all,
    wait_until_serving,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCALE = 30
TITLES = ["First check", "Second check", "Third check"]


def _session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


@pytest.fixture
def stack(tmp_path, settings, purge_audit_events):
    """uvicorn + worker + beat against the test database and Redis; stopped afterwards."""
    settings.REMINDER_TIME_SCALE = SCALE
    mail_dir = tmp_path / "mail"
    env = service_env(
        REDIS_URL=os.environ["REDIS_URL"],
        REMINDER_TIME_SCALE=SCALE,
        REMINDER_DISPATCH_SECONDS=0.5,
        REMINDER_ESCALATE_MINUTES=0,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=mail_dir,
        SITE_URL="http://deploychecks.test",
    )
    started = []
    try:
        # Launched together, then awaited: they start in parallel.
        web, url = start_uvicorn(env)
        started.append(web)
        worker = start_worker(env)
        started.append(worker)
        beat = start_beat(env, tmp_path / "beat-schedule")
        started.append(beat)
        wait_until_serving(web, url)
        worker.wait_for_output(WORKER_READY)
        beat.wait_for_output(BEAT_READY)
        yield {"url": url, "mail_dir": mail_dir, "beat": beat}
    finally:
        stop_all(started)


def _emails(mail_dir):
    """The messages the file backend wrote, oldest first."""
    messages = []
    for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
        for raw in path.read_bytes().split(b"-" * 79):
            if raw.strip():
                messages.append(email.message_from_bytes(raw.lstrip(), policy=policy.default))
    return messages


def test_worker_and_beat_deliver_reminders_by_websocket_and_email_in_order(
    stack, revision, deployment, lead, engineer
):
    set_rules(revision, *[(title, n) for n, title in enumerate(TITLES, start=1)])
    ws_url = stack["url"].replace("http://", "ws://") + f"/ws/deployments/{deployment.pk}/"

    with connect(
        ws_url,
        origin=stack["url"],
        open_timeout=10,
        additional_headers={"Cookie": _session_cookie(engineer)},
    ) as socket:
        live = go_live(deployment, lead)
        due = {r.title: r.due_at.timestamp() for r in live.reminders.all()}
        toasts = []
        deadline = time.monotonic() + 30
        while len(toasts) < len(TITLES) and time.monotonic() < deadline:
            try:
                message = json.loads(socket.recv(timeout=1))
            except TimeoutError:
                continue
            if message["type"] == "toast":
                toasts.append((time.time(), message))

    titles = [next(t for t in TITLES if t in message["html"]) for _, message in toasts]
    assert titles == TITLES
    for (arrived, _), title in zip(toasts, TITLES, strict=True):
        # After it fell due, and within a few dispatch intervals of it.
        assert due[title] <= arrived < due[title] + 4, (title, arrived - due[title])

    deadline = time.monotonic() + 10
    while len(_emails(stack["mail_dir"])) < len(TITLES) and time.monotonic() < deadline:
        time.sleep(0.2)
    messages = _emails(stack["mail_dir"])
    assert [m["Subject"].strip() for m in messages] == [
        f"[Deploychecks] {title} · checkout-api 2.0.0" for title in TITLES
    ]
    for message, reminder in zip(messages, live.reminders.order_by("due_at"), strict=True):
        assert message["To"].startswith(lead.email)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        link = f"http://deploychecks.test/deployments/{deployment.pk}/#reminder-{reminder.pk}"
        assert link in text and link in html

    for reminder in live.reminders.all():
        assert reminder.status == "sent"
        deliveries = {
            (d.channel, d.status, d.attempts)
            for d in ReminderDelivery.objects.filter(reminder=reminder)
        }
        assert deliveries == {("page", "sent", 1), ("email", "sent", 1)}
    assert "Sending due task dispatch-due-reminders" in stack["beat"].output()
