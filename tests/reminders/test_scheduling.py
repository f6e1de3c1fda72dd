"""Concrete reminders: created on go-live, cancelled at the end, moved with go-live."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.reminders import services
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Deployment, RunItem
from deploychecks.runs.services import NotAllowed, RunError, change_status
from tests.reminders.conftest import go_live, shift_into_past

pytestmark = pytest.mark.django_db


def test_going_live_creates_every_reminder_of_the_schedule(live_deployment):
    reminders = list(live_deployment.reminders.order_by("due_at", "pk"))
    assert len(reminders) == 25
    assert all(r.status == "pending" for r in reminders)
    for reminder in reminders:
        assert reminder.due_at == live_deployment.go_live_at + timedelta(
            minutes=reminder.offset_minutes
        )
    assert [r.offset_minutes for r in reminders][:4] == [15, 30, 45, 60]
    assert reminders[-1].offset_minutes == 4320
    assert AuditEvent.objects.get(action="reminders.scheduled").after["count"] == 25


def test_reminders_link_the_items_they_concern(live_deployment):
    smoke = live_deployment.reminders.filter(offset_minutes=15).get()
    titles = list(RunItem.objects.filter(pk__in=smoke.item_ids).values_list("title", flat=True))
    assert titles == ["Repeat the smoke tests every 15 minutes"]
    final = live_deployment.reminders.get(offset_minutes=4320)
    assert len(final.item_ids) == 2


def test_time_scale_compresses_the_schedule(settings, deployment, lead):
    settings.REMINDER_TIME_SCALE = 60  # a minute of schedule per second
    live = go_live(deployment, lead)
    last = live.reminders.order_by("-due_at").first()
    assert last.due_at - live.go_live_at == timedelta(seconds=4320)


def test_one_occurrence_per_rule_and_time(live_deployment):
    reminder = live_deployment.reminders.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(
            deployment=live_deployment,
            rule=reminder.rule,
            title=reminder.title,
            offset_minutes=reminder.offset_minutes,
            due_at=reminder.due_at,
        )


@pytest.mark.parametrize("end", ["rolled_back", "aborted"])
def test_ending_the_deployment_cancels_pending_reminders(live_deployment, lead, end):
    sent = live_deployment.reminders.order_by("due_at").first()
    Reminder.objects.filter(pk=sent.pk).update(status="sent", sent_at=timezone.now())
    change_status(deployment_id=live_deployment.pk, to=end, user=lead)
    statuses = dict(live_deployment.reminders.values_list("pk", "status"))
    assert statuses.pop(sent.pk) == "sent"
    assert set(statuses.values()) == {"cancelled"}
    assert AuditEvent.objects.get(action="reminders.cancelled").after["count"] == 24


def test_completing_cancels_pending_reminders(live_deployment, lead):
    # Completing goes through the sign-off gate (tests/signoffs); the hook is this call.
    Deployment.objects.filter(pk=live_deployment.pk).update(status="completed")
    live_deployment.refresh_from_db()
    assert services.cancel_pending(live_deployment, user=lead) == 25
    assert not live_deployment.reminders.exclude(status="cancelled").exists()


def test_rolling_back_before_go_live_leaves_nothing_to_cancel(deployment, lead):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    change_status(deployment_id=deployment.pk, to="rolled_back", user=lead)
    assert not deployment.reminders.exists()
    assert not AuditEvent.objects.filter(action="reminders.cancelled").exists()


def test_moving_go_live_moves_pending_reminders_only(live_deployment, lead):
    first = live_deployment.reminders.order_by("due_at").first()
    Reminder.objects.filter(pk=first.pk).update(status="sent", sent_at=timezone.now())
    earlier = live_deployment.go_live_at - timedelta(minutes=10)
    change = services.reschedule(deployment_id=live_deployment.pk, go_live_at=earlier, user=lead)
    assert change.changed
    live_deployment.refresh_from_db()
    assert live_deployment.go_live_at == earlier
    for reminder in live_deployment.reminders.exclude(pk=first.pk):
        assert reminder.due_at == earlier + timedelta(minutes=reminder.offset_minutes)
    first.refresh_from_db()
    assert first.due_at == earlier + timedelta(minutes=10 + 15)  # already sent: unchanged
    event = AuditEvent.objects.get(action="deployment.go_live_moved")
    assert event.after["reminders_moved"] == 24 and event.actor == lead


@pytest.mark.parametrize("minutes", [15, -15])
def test_moving_go_live_by_one_interval_keeps_the_unique_key(live_deployment, lead, minutes):
    # Each smoke-test occurrence lands exactly where its neighbour was.
    shift_into_past(live_deployment, timedelta(minutes=30))
    services.reschedule(
        deployment_id=live_deployment.pk,
        go_live_at=live_deployment.go_live_at + timedelta(minutes=minutes),
        user=lead,
    )
    assert live_deployment.reminders.filter(status="pending").count() == 25


def test_moving_onto_a_sent_occurrence_cancels_the_repeat(live_deployment, lead):
    at_15 = live_deployment.reminders.get(offset_minutes=15)
    Reminder.objects.filter(pk=at_15.pk).update(status="sent", sent_at=timezone.now())
    services.reschedule(
        deployment_id=live_deployment.pk,
        go_live_at=live_deployment.go_live_at - timedelta(minutes=15),
        user=lead,
    )
    # The 30-minute occurrence would now fall at the time the 15-minute one went out.
    assert not live_deployment.reminders.filter(offset_minutes=30, rule=at_15.rule).exists()
    assert live_deployment.reminders.filter(status="pending").count() == 23
    event = AuditEvent.objects.get(action="deployment.go_live_moved")
    assert event.after["reminders_cancelled"] == 1


def test_only_the_lead_moves_go_live(live_deployment, engineer):
    with pytest.raises(NotAllowed):
        services.reschedule(
            deployment_id=live_deployment.pk,
            go_live_at=live_deployment.go_live_at - timedelta(minutes=5),
            user=engineer,
        )


def test_go_live_cannot_move_into_the_future(live_deployment, lead):
    with pytest.raises(RunError):
        services.reschedule(
            deployment_id=live_deployment.pk,
            go_live_at=timezone.now() + timedelta(hours=1),
            user=lead,
        )


def _settings_under(**env) -> dict:
    """The dispatch settings a fresh process derives from `env` (settings are read once)."""
    script = (
        "import json; from django.conf import settings as s; "
        "entry = s.CELERY_BEAT_SCHEDULE['dispatch-due-reminders']; "
        "print(json.dumps({'every': entry['schedule'], 'expires': entry['options']['expires'],"
        " 'late': s.REMINDER_LATE_AFTER_SECONDS}))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REMINDER_")}
    environ.update(DJANGO_SETTINGS_MODULE="deploychecks.settings", **env)
    out = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_dispatcher_period_is_compressed_with_the_schedule():
    demo = _settings_under(REMINDER_TIME_SCALE="60")

    # A minute of schedule: the +15 min and +30 min smoke tests (15 s apart
    # at this scale) are never both due at one run, so none is superseded.
    assert demo["every"] == 1.0
    assert demo["expires"] < demo["every"]
    assert demo["late"] == 2.0
    assert _settings_under()["every"] == 60.0
    # Compressed further, a floor keeps beat from spinning.
    assert _settings_under(REMINDER_TIME_SCALE="100000")["every"] == 0.25
    # Set explicitly, it is real seconds, as given.
    assert _settings_under(REMINDER_TIME_SCALE="60", REMINDER_DISPATCH_SECONDS="5")["every"] == 5.0
