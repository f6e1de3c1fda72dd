"""A contact still holding the template's placeholders is never an escalation
target nor a reminder recipient (issue 12 §4)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import DeploymentContact
from tests.reminders.conftest import shift_into_past

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(live_deployment):
    live_deployment.contacts.all().delete()
    rows = [
        ("Deployment lead", "[Name]", "[Phone]", "@name", False),
        ("Release manager", "rm@example.com", "", "", False),  # marked: a half-filled row
        ("Backend lead", "bob@example.com", "+1 555 0100", "@bob", True),
    ]
    DeploymentContact.objects.bulk_create(
        DeploymentContact(
            deployment=live_deployment,
            position=n,
            role=role,
            person=person,
            phone=phone,
            handle=handle,
            filled_in=filled_in,
        )
        for n, (role, person, phone, handle, filled_in) in enumerate(rows, start=1)
    )


def test_escalation_skips_contacts_not_filled_in(live_deployment, contacts):
    shift_into_past(live_deployment, timedelta(minutes=16))
    dispatch_due_reminders()
    mail.outbox.clear()
    Reminder.objects.filter(deployment=live_deployment, status__in=["sent", "late"]).update(
        sent_at=timezone.now() - timedelta(minutes=16)
    )

    report = dispatch_due_reminders()

    reminder = Reminder.objects.get(pk__in=report.escalated)
    assert reminder.escalated_to == "Backend lead (bob@example.com, +1 555 0100, @bob)"
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_a_reminder_to_the_contacts_skips_those_not_filled_in(live_deployment, contacts):
    live_deployment.reminders.update(notify=["contacts"])
    shift_into_past(live_deployment, timedelta(minutes=16))

    dispatch_due_reminders()

    assert mail.outbox and all(m.to == ["bob@example.com"] for m in mail.outbox)
