"""The update cadence: the lead sets it; the reminder machinery reminds the lead
once when an update is due, and posting an update moves the next due time."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs import services as runs
from deploychecks.statusupdates import services
from deploychecks.statusupdates.cadence import set_cadence
from deploychecks.statusupdates.models import Cadence, StatusUpdate

pytestmark = pytest.mark.django_db


def _cadence(client, deployment, in_progress="", monitoring=""):
    return client.post(
        f"/deployments/{deployment.pk}/status-updates/cadence/",
        {"in_progress": in_progress, "monitoring": monitoring},
        headers={"HX-Request": "true"},
    )


def _started(deployment, lead, minutes_ago: int):
    runs.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    deployment.refresh_from_db()
    deployment.started_at = timezone.now() - timedelta(minutes=minutes_ago)
    deployment.save(update_fields=["started_at"])


def test_the_lead_sets_the_cadence_and_others_cannot(client_of, deployment, lead, engineer):
    answer = _cadence(client_of(lead), deployment, "30", "60")

    assert answer.status_code == 200
    assert "every 30 min in progress, 60 min monitoring" in answer.text
    cadence = Cadence.objects.get(deployment=deployment)
    assert (cadence.in_progress_minutes, cadence.monitoring_minutes) == (30, 60)
    assert AuditEvent.objects.filter(action="status_update.cadence_set", actor=lead).exists()
    assert _cadence(client_of(engineer), deployment, "5").status_code == 403
    bad = _cadence(client_of(lead), deployment, "2", "")
    assert bad.status_code == 400 and 'id="status-cadence-error"' in bad.text
    cadence.refresh_from_db()
    assert cadence.in_progress_minutes == 30


def test_the_lead_is_reminded_once_when_an_update_is_due(deployment, lead):
    set_cadence(deployment_id=deployment.pk, user=lead, in_progress="30", monitoring="")
    _started(deployment, lead, minutes_ago=20)
    dispatch_due_reminders()
    assert not Reminder.objects.filter(kind="update_due").exists()  # not due yet

    _started_at = deployment.started_at - timedelta(minutes=15)  # 35 minutes ago
    deployment.started_at = _started_at
    deployment.save(update_fields=["started_at"])
    mail.outbox.clear()
    dispatch_due_reminders()
    dispatch_due_reminders()

    reminder = Reminder.objects.get(kind="update_due")
    assert reminder.title == "Status update due"
    assert reminder.due_at == _started_at + timedelta(minutes=30)
    email = ReminderDelivery.objects.get(reminder=reminder, channel="email")
    assert email.recipients == [lead.email] and email.status == "sent"
    assert [m.to for m in mail.outbox] == [[lead.email]]


def test_posting_an_update_moves_the_next_due_time(client_of, deployment, lead):
    set_cadence(deployment_id=deployment.pk, user=lead, in_progress="30", monitoring="")
    _started(deployment, lead, minutes_ago=35)
    services.post_update(deployment_id=deployment.pk, user=lead, body="On track")

    dispatch_due_reminders()
    assert not Reminder.objects.filter(kind="update_due").exists()

    StatusUpdate.objects.update(created_at=timezone.now() - timedelta(minutes=31))
    dispatch_due_reminders()
    assert Reminder.objects.filter(kind="update_due").count() == 1
    page = client_of(lead).get(f"/deployments/{deployment.pk}/").text
    assert 'id="status-update-next-due"' in page


def test_no_reminder_without_a_cadence_or_once_finished(deployment, lead):
    _started(deployment, lead, minutes_ago=600)
    dispatch_due_reminders()
    set_cadence(deployment_id=deployment.pk, user=lead, in_progress="", monitoring="60")
    dispatch_due_reminders()  # in progress: only the monitoring cadence is set

    assert not Reminder.objects.filter(kind="update_due").exists()


def test_a_cadence_in_odd_digits_is_refused_not_a_500(client_of, deployment, lead):
    """ "²".isdigit() is True and int("²") raises: it was a 500."""
    client = client_of(lead)
    url = f"/deployments/{deployment.pk}/status-updates/cadence/"
    response = client.post(
        url, {"in_progress": "²", "monitoring": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "a number of minutes" in response.content.decode()
    assert 'value="²"' in response.content.decode()
