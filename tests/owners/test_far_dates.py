"""A planned start near year 9999 (due times overflow) never stops the reminder run,
never breaks My work, and is refused by the form and the API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deploychecks.owners.due import due_at
from deploychecks.reminders import events
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder
from deploychecks.runs import services as runs
from deploychecks.runs.models import PLANNED_START_MESSAGE
from tests.api.conftest import Api, personal
from tests.conftest import may_start_deployments
from tests.owners.conftest import item

pytestmark = pytest.mark.django_db

FAR = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


def _start(deployment, lead, planned_start):
    runs.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    deployment.refresh_from_db()
    deployment.planned_start = planned_start
    deployment.save(update_fields=["planned_start"])
    return deployment


def test_a_due_time_past_year_9999_is_no_due_time(owned, lead, client, engineer):
    _start(owned, lead, FAR)  # stored before the form's bound, or straight in the database
    backups = item(owned, "Backups verified")  # due 2h after window start

    assert due_at(backups, owned, backups.phase) is None
    dispatch_due_reminders()  # raised OverflowError on every run
    client.force_login(engineer)
    assert client.get(reverse("owners:my_work")).status_code == 200


def test_a_failing_dispatching_handler_is_logged_and_the_run_goes_on(owned, lead, caplog):
    _start(owned, lead, timezone.now() - timedelta(hours=3))

    def broken(event):
        raise RuntimeError("a feature's bad data")

    events.dispatching.connect(broken, first=True)
    try:
        report = dispatch_due_reminders()
    finally:
        events.dispatching.disconnect(broken)

    backups = item(owned, "Backups verified")
    overdue = Reminder.objects.get(deployment=owned, item_ids=[backups.pk])
    assert overdue.status in ("sent", "late")
    assert report.sent  # and this same run delivered it
    assert "dispatching handler" in caplog.text and "a feature's bad data" in caplog.text


def _form_post(lead, revision, planned_start):
    client = Client()
    client.force_login(may_start_deployments(lead))
    data = {
        "revision": revision.pk,
        "release_name": "Far",
        "version": "2.1.0",
        "service": "billing",
        "environment": "production",
        "planned_start": planned_start,
    }
    return client.post(reverse("runs:create"), data)


def test_the_form_refuses_a_planned_start_years_away(owned_revision, lead):
    answer = _form_post(lead, owned_revision, "9999-12-31T23:00")

    assert answer.status_code == 422
    assert PLANNED_START_MESSAGE in answer.text
    assert not lead.led_deployments.filter(release_name="Far").exists()
    soon = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    assert _form_post(lead, owned_revision, soon).status_code == 302


@pytest.mark.parametrize(
    "planned_start", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:00:00"]
)
def test_the_api_refuses_a_planned_start_years_away(client, lead, owned_revision, planned_start):
    api = Api(client, personal(may_start_deployments(lead)))

    answer = api.post(
        "/deployments",
        {
            "template": "Owned release",
            "service": "far-api",
            "version": "2.0",
            "planned_start": planned_start,
        },
    )

    assert answer.status_code in (400, 422)
    assert "within 10 years" in answer.text
