"""Embedded mode (`make run`, no Redis): the web process's own scheduler delivers reminders.

The ASGI application is started as uvicorn starts it (a lifespan startup), with
the in-memory channel layer and eager Celery of embedded mode; the lifespan
scheduler then runs the beat schedule in the same event loop as the websocket,
which is the only way an in-memory broadcast reaches it.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core import mail

from deploychecks.asgi import application
from tests.reminders.conftest import go_live, set_rules
from tests.sockets import browser_headers, first_toast, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def embedded(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMBEDDED_SCHEDULER = True
    settings.SCHEDULER_INTERVAL_SECONDS = 0.2
    settings.REMINDER_TIME_SCALE = 60  # a minute of schedule per second


def test_lifespan_scheduler_delivers_a_toast_and_an_email(
    embedded, revision, deployment, lead, engineer, purge_audit_events
):
    set_rules(revision, ("Check the error rate", 1))  # due 1 s after go-live
    headers = browser_headers(engineer)

    async def scenario():
        server = ApplicationCommunicator(application, {"type": "lifespan"})
        await server.send_input({"type": "lifespan.startup"})
        assert (await server.receive_output(5))["type"] == "lifespan.startup.complete"
        socket = await open_socket(deployment.pk, headers)
        live = await sync_to_async(go_live)(deployment, lead)
        toast = await first_toast(socket, timeout=15)
        await socket.disconnect()
        await server.send_input({"type": "lifespan.shutdown"})
        await server.receive_output(5)
        return live, toast

    live, toast = async_to_sync(scenario)()

    assert toast is not None, "no toast arrived from the embedded scheduler"
    assert "Check the error rate" in toast["html"]
    reminder = live.reminders.get()
    assert reminder.status == "sent"
    assert reminder.sent_at - reminder.due_at < timedelta(seconds=2)
    assert [m.subject for m in mail.outbox] == [
        "[Deploychecks] Check the error rate · checkout-api 2.0.0"
    ]


def test_compressed_time_runs_the_dispatcher_at_its_own_period(
    embedded, settings, revision, deployment, lead, purge_audit_events
):
    # A demo: 15 minutes of schedule pass in 1.5 s, the scheduler's tick is its
    # default minute, and the dispatcher's period is compressed with the schedule.
    settings.REMINDER_TIME_SCALE = 600
    settings.SCHEDULER_INTERVAL_SECONDS = 60.0
    settings.CELERY_BEAT_SCHEDULE = {
        name: {**entry, "schedule": 0.25} if name == "dispatch-due-reminders" else entry
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    set_rules(revision, ("Re-run the smoke tests", (15, 30, 15)))  # at 1.5 s and 3 s

    async def scenario():
        server = ApplicationCommunicator(application, {"type": "lifespan"})
        await server.send_input({"type": "lifespan.startup"})
        assert (await server.receive_output(5))["type"] == "lifespan.startup.complete"
        live = await sync_to_async(go_live)(deployment, lead)
        await asyncio.sleep(4)
        await server.send_input({"type": "lifespan.shutdown"})
        await server.receive_output(5)
        return live

    live = async_to_sync(scenario)()

    reminders = list(live.reminders.order_by("due_at"))
    assert [(r.offset_minutes, r.status) for r in reminders] == [(15, "sent"), (30, "sent")]
    assert all(r.sent_at - r.due_at < timedelta(seconds=1) for r in reminders)
