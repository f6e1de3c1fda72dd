"""Owners and due times on a deployment: the snapshot, the lead's changes, who may tick."""

import pytest

from deploychecks.audit.models import AuditEvent
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.history.exports import to_markdown
from deploychecks.history.record import load_record
from deploychecks.owners import services
from deploychecks.runs import services as runs
from deploychecks.signoffs.services import checklist_hash
from tests.owners.conftest import item

pytestmark = pytest.mark.django_db


def test_the_snapshot_copies_owners_and_due_times(owned):
    backups = item(owned, "Backups verified")
    migrations = item(owned, "Migrations reviewed")
    dashboards = item(owned, "Dashboards green")

    assert (backups.owners, backups.due_minutes, backups.due_anchor) == (["erin"], 120, "window")
    assert backups.due_text == "2h after window start"
    # An item that names no owner takes its section's.
    assert migrations.owners == ["backend-lead"]
    assert (dashboards.owners, dashboards.due_anchor) == (["lead"], "phase")
    assert owned.phases.get(position=1).sections.get().owners == ["backend-lead"]


def test_the_deployment_export_writes_owners_and_due_times(owned):
    markdown = to_markdown(load_record(owned))

    assert "- [ ] **Backups verified** @erin (due 2h after window start)" in markdown
    assert "### Backend @backend-lead" in markdown


def test_the_lead_changes_owners_and_due_time_audited(owned, lead):
    canary = item(owned, "Canary healthy")
    signed_hash = checklist_hash(owned.pk)

    change = services.set_assignment(
        deployment_id=owned.pk,
        item_id=canary.pk,
        owners='@sam @"Backend Lead"',
        due="1h after go-live",
        user=lead,
    )

    canary.refresh_from_db()
    assert change.changed
    assert canary.owners == ["sam", "backend-lead"]
    assert (canary.due_minutes, canary.due_anchor) == (60, "go_live")
    assert canary.assign_version == 2 and canary.version == 1
    # Who owns an item is not what approvers sign: their hash is unchanged.
    assert checklist_hash(owned.pk) == signed_hash
    event = AuditEvent.objects.get(action="item.owners_changed")
    assert event.before == {"owners": ["qa-lead"], "due": "30m after window start"}
    assert event.after == {"owners": ["sam", "backend-lead"], "due": "1h after go-live"}
    assert event.seq == change.seq


def test_an_engineer_cannot_change_owners(owned, engineer):
    canary = item(owned, "Canary healthy")

    with pytest.raises(NotAllowed):
        services.set_assignment(
            deployment_id=owned.pk, item_id=canary.pk, owners="@erin", user=engineer
        )

    canary.refresh_from_db()
    assert canary.owners == ["qa-lead"]


@pytest.mark.parametrize(
    ("owners", "due", "reason"),
    [
        ("@bad!name", services.UNCHANGED, "“@bad!name” is not an owner: use a username"),
        ("@erin", "2 hours after lunch", "“(due 2 hours after lunch)” is not a due time"),
    ],
)
def test_a_bad_owner_or_due_time_is_refused_with_its_reason(owned, lead, owners, due, reason):
    canary = item(owned, "Canary healthy")

    with pytest.raises(RunError) as refused:
        services.set_assignment(
            deployment_id=owned.pk, item_id=canary.pk, owners=owners, due=due, user=lead
        )

    # Its own reason, not any refusal (the lead-only one mentions neither).
    # A plain refusal (400) that names its form field, not a NotAllowed (403).
    assert type(refused.value) is services.FieldError and refused.value.status_code == 400
    assert refused.value.field == ("owners" if owners.startswith("@bad") else "due")
    assert refused.value.message.startswith(reason)
    canary.refresh_from_db()
    assert canary.owners == ["qa-lead"] and canary.assign_version == 1


def test_an_approver_who_owns_an_item_through_their_role_may_tick_it(owned, approver):
    canary = item(owned, "Canary healthy")  # @qa-lead, and Quinn is the QA Lead's approver

    runs.set_item_state(
        deployment_id=owned.pk, item_id=canary.pk, state="done", expected_version=1, user=approver
    )

    canary.refresh_from_db()
    assert canary.state == "done" and canary.changed_by == approver


def test_an_approver_cannot_tick_an_item_they_do_not_own(owned, approver):
    backups = item(owned, "Backups verified")

    with pytest.raises(NotAllowed, match="owners"):
        runs.set_item_state(
            deployment_id=owned.pk,
            item_id=backups.pk,
            state="done",
            expected_version=1,
            user=approver,
        )


def test_a_viewer_named_as_owner_may_tick_that_item_only(owned, lead, viewer):
    backups = item(owned, "Backups verified")
    services.set_assignment(deployment_id=owned.pk, item_id=backups.pk, owners="@vic", user=lead)
    migrations = item(owned, "Migrations reviewed")

    runs.set_item_state(
        deployment_id=owned.pk, item_id=backups.pk, state="done", expected_version=1, user=viewer
    )
    with pytest.raises(NotAllowed):
        runs.set_item_state(
            deployment_id=owned.pk,
            item_id=migrations.pk,
            state="done",
            expected_version=1,
            user=viewer,
        )

    backups.refresh_from_db()
    assert backups.state == "done"


def test_engineers_still_tick_items_they_do_not_own(owned, second_engineer):
    backups = item(owned, "Backups verified")  # @erin; Sam is another engineer

    runs.set_item_state(
        deployment_id=owned.pk,
        item_id=backups.pk,
        state="done",
        expected_version=1,
        user=second_engineer,
    )

    backups.refresh_from_db()
    assert backups.state == "done"
