"""Fixtures for the retrospective tests: a small deployment worked through by the real
services (the checklist of tests/history/worked.py), finished by a rollback.

Every figure of the retro's metrics has something in it: an N/A item, a stale
sign-off, a red reading (a verdict change), a step that overran its budget, a
rollback that took longer than its budget, a reminder acknowledged after its
escalation and a gate override.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from deploychecks.accounts.people import MANAGERS_GROUP
from deploychecks.gonogo.rollback import start_rollback
from deploychecks.gonogo.services import record_reading
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import GateOverride, RunItem
from deploychecks.runs.services import change_status
from tests.history.worked import item, save_small_template, sign, start_small_deployment, tick


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """Broadcasts after commit use Redis keys no other test run shares."""


@pytest.fixture
def manager(make_user):
    user = make_user("mona", first_name="Mona", last_name="Manager")
    user.groups.add(Group.objects.get_or_create(name=MANAGERS_GROUP)[0])
    return user


@pytest.fixture
def client_of():
    def make(user, **kwargs):
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def small_revision(db):
    return save_small_template()


@pytest.fixture
def small_deployment(small_revision, lead, engineer, second_engineer, viewer, approver):
    return start_small_deployment(small_revision, lead, engineer, second_engineer, viewer, approver)


def _at(deployment, title, when):
    RunItem.objects.filter(deployment=deployment, title=title).update(changed_at=when)


@pytest.fixture
def worked(small_deployment, lead, engineer, second_engineer, approver):
    """Worked through and rolled back; see the module docstring."""
    return work_through(small_deployment, lead, engineer, second_engineer, approver)


def work_through(d, lead, engineer, second_engineer, approver):
    now = timezone.now()
    change_status(deployment_id=d.pk, to="in_progress", user=lead)
    tick(d, "Backup created", engineer)
    tick(d, "Freeze announced", second_engineer, state="na", reason="No freeze for patches")
    tick(d, "Run migrations", second_engineer)
    sign(d, approver, "QA Lead", comment="Looks good")
    tick(d, "Check schema", engineer)  # makes the QA sign-off stale
    sign(d, approver, "QA Lead", comment="Still good")
    # Phase 1 took 30 minutes; its step "Migrate" (10 min) ran from the phase's
    # first item to its last: 30 minutes, over its budget.
    _at(d, "Backup created", now - timedelta(minutes=90))
    _at(d, "Freeze announced", now - timedelta(minutes=85))
    _at(d, "Run migrations", now - timedelta(minutes=80))
    _at(d, "Check schema", now - timedelta(minutes=60))
    change_status(deployment_id=d.pk, to="monitoring", user=lead)
    record_reading(
        deployment_id=d.pk, signal_name="Error rate", value=2.5, user=engineer, note="spike"
    )
    GateOverride.objects.create(
        deployment=d,
        to_status="monitoring",
        by_name="Lee Lead",
        reason="The approver was on a plane",
        conditions=[{"key": "signoff:1", "kind": "signoff", "label": "QA Lead"}],
        created_at=now - timedelta(minutes=50),
    )
    Reminder.objects.create(
        deployment=d,
        title="Check the error budget",
        offset_minutes=15,
        due_at=now - timedelta(minutes=40),
        status=Reminder.Status.ACKNOWLEDGED,
        sent_at=now - timedelta(minutes=40),
        escalated_at=now - timedelta(minutes=25),
        escalated_to="lead",
        acknowledged_at=now - timedelta(minutes=20),
        acknowledged_by_name="Erin",
    )
    Reminder.objects.create(
        deployment=d,
        title="Check the queues",
        offset_minutes=30,
        due_at=now - timedelta(minutes=30),
        status=Reminder.Status.ACKNOWLEDGED,
        sent_at=now - timedelta(minutes=30),
        acknowledged_at=now - timedelta(minutes=29),
        acknowledged_by_name="Erin",
    )
    # The rollback started 20 minutes ago; its one step (15 min) overran.
    start_rollback(
        deployment_id=d.pk, reason="Errors", user=engineer, now=now - timedelta(minutes=20)
    )
    tick(d, "Redeploy the previous version", engineer)  # the last step: rolled back
    d.refresh_from_db()
    assert d.status == "rolled_back"
    assert item(d, "Redeploy the previous version").state == "done"
    return d
