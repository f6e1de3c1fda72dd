"""Due times against their anchors; an overdue item is marked once and its owners reminded."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.owners import services
from deploychecks.owners.due import due_at
from deploychecks.reminders.centre import centre_context
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs import services as runs
from deploychecks.runs.fragments import item_fragments
from tests.owners.conftest import item

pytestmark = pytest.mark.django_db


def _start(deployment, lead, *, planned_hours_ago: float):
    runs.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    deployment.refresh_from_db()
    deployment.planned_start = timezone.now() - timedelta(hours=planned_hours_ago)
    deployment.save(update_fields=["planned_start"])
    return deployment


def test_due_times_follow_their_anchors(owned, lead, engineer):
    _start(owned, lead, planned_hours_ago=1)
    backups = item(owned, "Backups verified")  # 2h after window start
    dashboards = item(owned, "Dashboards green")  # 1h after phase start
    errors = item(owned, "Error rate normal")  # 1d after go-live

    assert due_at(backups, owned, backups.phase) == owned.planned_start + timedelta(hours=2)
    # Phase 2 has not started, and the deployment is not live: not due yet.
    assert due_at(dashboards, owned, dashboards.phase) is None
    assert due_at(errors, owned, errors.phase) is None

    runs.set_item_state(
        deployment_id=owned.pk, item_id=errors.pk, state="done", expected_version=1, user=engineer
    )
    dashboards.phase.refresh_from_db()
    started = dashboards.phase.started_at
    assert started is not None
    assert due_at(dashboards, owned, dashboards.phase) == started + timedelta(hours=1)


def test_the_window_anchor_is_the_start_when_none_was_planned(owned, lead):
    runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead)
    owned.refresh_from_db()
    backups = item(owned, "Backups verified")

    assert due_at(backups, owned, backups.phase) == owned.started_at + timedelta(hours=2)


def test_an_overdue_item_is_marked_once_and_its_owner_reminded_once(owned, lead, engineer):
    _start(owned, lead, planned_hours_ago=3)  # Backups (2h) and Canary (30m) are past due
    backups = item(owned, "Backups verified")
    seq_before = owned.seq

    dispatch_due_reminders()
    dispatch_due_reminders()
    services.remind_overdue()

    backups.refresh_from_db()
    assert backups.overdue_since is not None and backups.assign_version == 2
    reminder = Reminder.objects.get(deployment=owned, item_ids=[backups.pk])
    assert reminder.title == "Overdue: Backups verified"
    assert reminder.status in ("sent", "late")
    email = ReminderDelivery.objects.get(reminder=reminder, channel="email")
    assert email.recipients == ["erin@example.com"] and email.status == "sent"
    assert ReminderDelivery.objects.get(reminder=reminder, channel="page").status == "sent"
    to_erin = [m for m in mail.outbox if m.to == ["erin@example.com"]]
    assert len(to_erin) == 1 and "Backups verified" in to_erin[0].subject
    assert "an item you own is overdue" in to_erin[0].body
    assert reminder.kind == "overdue"
    assert Reminder.objects.filter(deployment=owned).count() == 2  # Backups and Canary
    overdue_events = AuditEvent.objects.filter(deployment=owned, action="item.overdue")
    assert overdue_events.count() == 2
    owned.refresh_from_db()
    assert owned.seq > seq_before


def test_a_role_owner_is_reminded_by_email(owned, lead, approver):
    _start(owned, lead, planned_hours_ago=1)  # only Canary (30m, @qa-lead) is past due

    dispatch_due_reminders()

    reminder = Reminder.objects.get(deployment=owned)
    assert reminder.title == "Overdue: Canary healthy"
    email = ReminderDelivery.objects.get(reminder=reminder, channel="email")
    assert email.recipients == [approver.email]


def test_an_item_done_before_its_due_time_is_never_overdue(owned, lead, engineer):
    _start(owned, lead, planned_hours_ago=3)
    backups = item(owned, "Backups verified")
    runs.set_item_state(
        deployment_id=owned.pk, item_id=backups.pk, state="done", expected_version=1, user=engineer
    )

    services.remind_overdue()

    backups.refresh_from_db()
    assert backups.overdue_since is None
    assert not Reminder.objects.filter(item_ids=[backups.pk]).exists()


def test_an_overdue_row_says_so_in_words(owned, lead):
    _start(owned, lead, planned_hours_ago=3)
    backups = item(owned, "Backups verified")
    before = item_fragments(owned, backups.pk)["html_read"]

    services.remind_overdue()

    after = item_fragments(owned, backups.pk)["html_read"]
    assert "Overdue" not in before and "Overdue" in after
    assert 'class="run-item state-open overdue"' in after
    assert "Due 2h after window start" in after and "@erin" in after


def test_a_planned_deployment_is_never_swept(owned):
    owned.planned_start = timezone.now() - timedelta(days=1)
    owned.save(update_fields=["planned_start"])

    assert services.remind_overdue() == []


def test_the_bell_counts_overdue_reminders_while_in_progress(owned, lead):
    _start(owned, lead, planned_hours_ago=3)  # Backups and Canary fall overdue

    dispatch_due_reminders()

    owned.refresh_from_db()
    assert owned.status == "in_progress"
    assert centre_context(owned)["open_count"] == 2


def test_ticking_an_overdue_item_closes_its_reminder(owned, lead, engineer):
    _start(owned, lead, planned_hours_ago=3)
    backups = item(owned, "Backups verified")
    canary = item(owned, "Canary healthy")
    dispatch_due_reminders()
    backups.refresh_from_db()

    runs.set_item_state(
        deployment_id=owned.pk,
        item_id=backups.pk,
        state="done",
        expected_version=backups.version,
        user=engineer,
    )

    closed = Reminder.objects.get(deployment=owned, item_ids=[backups.pk])
    assert closed.status == "acknowledged"
    assert closed.acknowledged_by == engineer
    assert closed.acknowledged_note == "“Backups verified” is done."
    still = Reminder.objects.get(deployment=owned, item_ids=[canary.pk])
    assert still.status in ("sent", "late")
    owned.refresh_from_db()
    assert centre_context(owned)["open_count"] == 1
    assert AuditEvent.objects.filter(
        deployment=owned, action="reminder.acknowledged", target_id=str(closed.pk)
    ).exists()
