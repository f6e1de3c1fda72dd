"""Fixtures for the history tests: a manager, and a small deployment worked through by the
real services for the record and export tests.

Small on purpose (a dozen items): what these tests check does not depend on
the size of the checklist, except the query-count test, which also uses the
89-item default template.
"""

import pytest
from django.contrib.auth.models import Group

from deploychecks.accounts.people import MANAGERS_GROUP
from deploychecks.gonogo.services import record_reading
from deploychecks.runs.services import (
    add_item_note,
    change_status,
    set_subcheck_state,
)
from tests.history.worked import (
    item,
    save_small_template,
    sign,
    start_small_deployment,
    subcheck,
    tick,
)


@pytest.fixture
def manager(make_user):
    """Sees every deployment's history without taking part in any."""
    user = make_user("mona", first_name="Mona", last_name="Manager")
    user.groups.add(Group.objects.get_or_create(name=MANAGERS_GROUP)[0])
    return user


@pytest.fixture
def small_revision(db):
    return save_small_template()


@pytest.fixture
def record_deployment(small_revision, lead, engineer, second_engineer, viewer, approver):
    return start_small_deployment(small_revision, lead, engineer, second_engineer, viewer, approver)


@pytest.fixture
def worked(record_deployment, lead, engineer, second_engineer, approver):
    """Started, partly ticked with notes, an N/A, a stale and a fresh sign-off, gone
    live with a red reading: every part of the record has something in it."""
    d = record_deployment
    change_status(deployment_id=d.pk, to="in_progress", user=lead)
    tick(d, "Backup created", engineer)
    sub = subcheck(d, "Restore tested")
    set_subcheck_state(
        deployment_id=d.pk, subcheck_id=sub.pk, done=True, expected_version=1, user=engineer
    )
    add_item_note(
        deployment_id=d.pk,
        item_id=item(d, "Backup created").pk,
        body="Backup took 40 minutes",
        user=engineer,
    )
    add_item_note(
        deployment_id=d.pk,
        item_id=item(d, "Run migrations").pk,
        kind="deviation",
        body="Ran migrations by hand: the job runner was down",
        user=second_engineer,
    )
    tick(d, "Freeze announced", second_engineer, state="na", reason="No freeze for patches")
    tick(d, "Run migrations", second_engineer)
    sign(d, approver, "QA Lead", comment="Looks good")
    tick(d, "Check schema", engineer)  # makes the QA sign-off stale
    sign(d, approver, "QA Lead", comment="Still good")
    # Phase 2 ("Deploy and monitor") comes after go-live: phase 1 is all done or N/A.
    change_status(deployment_id=d.pk, to="monitoring", user=lead)
    record_reading(
        deployment_id=d.pk,
        signal_name="Error rate",
        value=2.5,
        user=engineer,
        note="spike after deploy",
    )
    d.refresh_from_db()
    return d
