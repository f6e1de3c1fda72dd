"""Escalation: a reminder nobody acknowledges goes to the next contact, once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.reminders import services
from deploychecks.reminders.dispatch import dispatch_due_reminders, release_now
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs.models import DeploymentContact
from tests.reminders.conftest import shift_into_past

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(live_deployment, lead):
    live_deployment.contacts.all().delete()
    rows = [
        ("Deployment lead", lead.email, "", ""),
        ("Backend lead", "bob@example.com", "+1 555 0100", "@bob"),
        ("DevOps lead", "Dana Ops", "+1 555 0101", "@dana"),
    ]
    DeploymentContact.objects.bulk_create(
        DeploymentContact(
            deployment=live_deployment,
            position=n,
            role=role,
            person=person,
            phone=phone,
            handle=handle,
        )
        for n, (role, person, phone, handle) in enumerate(rows, start=1)
    )


def _send_first_reminders(deployment, minutes_ago: int):
    """Release what is due, then pretend it went out `minutes_ago`."""
    dispatch_due_reminders()
    mail.outbox.clear()
    Reminder.objects.filter(deployment=deployment, status__in=["sent", "late"]).update(
        sent_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_unacknowledged_reminder_escalates_to_the_next_contact_once(live_deployment, contacts):
    shift_into_past(live_deployment, timedelta(minutes=16))
    _send_first_reminders(live_deployment, minutes_ago=16)

    report = dispatch_due_reminders()

    reminder = Reminder.objects.get(pk__in=report.escalated)
    # The lead already had the reminder: the ladder starts below them.
    assert reminder.escalated_to == "Backend lead (bob@example.com, +1 555 0100, @bob)"
    [message] = mail.outbox
    assert message.to == ["bob@example.com"]
    assert message.subject.startswith("[Deploychecks] Escalation: Re-run the smoke tests")
    assert "Escalation to Backend lead" in message.body
    channels = set(
        ReminderDelivery.objects.filter(
            reminder=reminder, purpose="escalation", status="sent"
        ).values_list("channel", flat=True)
    )
    assert channels == {"page", "email"}
    event = AuditEvent.objects.get(action="reminder.escalated")
    assert event.after["to"] == reminder.escalated_to
    # Once: later runs do not escalate it again.
    assert dispatch_due_reminders().escalated == []
    assert len(mail.outbox) == 1


def test_not_before_the_escalation_time(live_deployment, contacts):
    shift_into_past(live_deployment, timedelta(minutes=16))
    _send_first_reminders(live_deployment, minutes_ago=14)
    assert dispatch_due_reminders().escalated == []


def test_escalation_time_is_scaled_like_the_schedule(settings, live_deployment, contacts):
    settings.REMINDER_TIME_SCALE = 60  # 15 minutes of schedule = 15 s
    shift_into_past(live_deployment, timedelta(minutes=16))
    dispatch_due_reminders()
    Reminder.objects.filter(status="sent").update(sent_at=timezone.now() - timedelta(seconds=16))
    assert len(dispatch_due_reminders().escalated) == 1


def test_acknowledged_reminder_does_not_escalate(live_deployment, contacts, engineer):
    shift_into_past(live_deployment, timedelta(minutes=16))
    _send_first_reminders(live_deployment, minutes_ago=30)
    reminder = Reminder.objects.get(status="sent")
    services.acknowledge(
        deployment_id=live_deployment.pk, reminder_id=reminder.pk, user=engineer, note="all green"
    )
    assert dispatch_due_reminders().escalated == []


def test_each_further_open_escalation_climbs_the_ladder(
    settings, live_deployment, contacts, webhook_receiver
):
    sink = webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = sink.url
    shift_into_past(live_deployment, timedelta(minutes=31))
    # Two one-off checks due, so both go out (a repeat would send only the latest).
    live_deployment.reminders.filter(offset_minutes__in=[15, 30]).update(rule=None)
    Reminder.objects.filter(deployment=live_deployment, offset_minutes=30).update(title="Other")
    _send_first_reminders(live_deployment, minutes_ago=20)
    sink.requests.clear()

    report = dispatch_due_reminders()

    escalated = Reminder.objects.filter(pk__in=report.escalated).order_by("due_at")
    assert [r.escalated_to.split(" (")[0] for r in escalated] == ["Backend lead", "DevOps lead"]
    # Dana has no email address: she is reached through the page and the webhook.
    dana = escalated[1]
    assert (
        ReminderDelivery.objects.get(reminder=dana, purpose="escalation", channel="email").status
        == "skipped"
    )
    texts = [r["json"]["text"] for r in sink.requests]
    assert any("Escalation to DevOps lead (Dana Ops, +1 555 0101, @dana)" in t for t in texts)


def test_without_contacts_escalation_is_recorded_but_reaches_nobody(live_deployment):
    live_deployment.contacts.all().delete()
    shift_into_past(live_deployment, timedelta(minutes=16))
    _send_first_reminders(live_deployment, minutes_ago=16)
    report = dispatch_due_reminders()
    reminder = Reminder.objects.get(pk__in=report.escalated)
    assert reminder.escalated_to == "nobody (no contacts)"
    assert not mail.outbox


def test_an_overdue_items_reminder_never_climbs_the_contact_ladder(live_deployment, contacts):
    # Raised by deploychecks.owners for an item past its due time: for its owners only.
    overdue = release_now(
        live_deployment,
        title="Overdue: Backups verified",
        due_at=timezone.now() - timedelta(minutes=20),
        item_ids=[],
        emails=["erin@example.com"],
    )
    Reminder.objects.filter(pk=overdue.pk).update(sent_at=timezone.now() - timedelta(minutes=16))

    report = dispatch_due_reminders()

    overdue.refresh_from_db()
    assert overdue.pk not in report.escalated
    assert overdue.escalated_at is None
    assert not ReminderDelivery.objects.filter(reminder=overdue, purpose="escalation").exists()
