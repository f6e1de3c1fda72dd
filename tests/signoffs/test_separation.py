"""Separation of duties: one person holds at most one sign-off role per deployment."""

import pytest
from django.db import IntegrityError, transaction

from deploychecks.runs.models import Deployment, Participant
from deploychecks.runs.services import NotAllowed, RunError, create_deployment
from deploychecks.signoffs import services
from deploychecks.signoffs.models import ApproverAssignment, SignOff

pytestmark = pytest.mark.django_db


def _assign(deployment, lead, role, user, *, backup=False):
    return services.assign_approver(
        deployment_id=deployment.pk,
        role_id=role.pk,
        approver=user,
        is_backup=backup,
        user=lead,
    )


@pytest.mark.parametrize("as_backup", [False, True], ids=["as approver", "as backup"])
def test_assigning_the_approver_of_one_role_to_a_second_role_is_refused(
    deployment, lead, approvers, role, as_backup
):
    emma = approvers["Engineering Manager"]

    with pytest.raises(RunError) as refused:
        _assign(deployment, lead, role("DevOps Lead"), emma, backup=as_backup)

    assert refused.value.message == (
        "Emma Manager is already the approver for Engineering Manager: one person holds at "
        "most one sign-off role per deployment (separation of duties). Remove them from "
        "Engineering Manager first, or pick someone else."
    )
    assert list(
        ApproverAssignment.objects.filter(user=emma).values_list("role__name", flat=True)
    ) == ["Engineering Manager"]


def test_a_backup_of_one_role_cannot_become_the_approver_of_another(deployment, lead, backup, role):
    with pytest.raises(RunError, match="Bob Backup is already a backup for QA Lead"):
        _assign(deployment, lead, role("Product Manager"), backup)


def test_moving_a_person_within_their_own_role_is_still_allowed(deployment, lead, backup, role):
    change = _assign(deployment, lead, role("QA Lead"), backup)  # backup -> primary

    assert change.changed and not ApproverAssignment.objects.get(user=backup).is_backup


def test_someone_whose_sign_off_for_another_role_stands_cannot_be_assigned(
    deployment, lead, approvers, role, sign
):
    emma = approvers["Engineering Manager"]
    sign(emma, "Engineering Manager")
    assignment = ApproverAssignment.objects.get(user=emma)
    services.remove_approver(deployment_id=deployment.pk, assignment_id=assignment.pk, user=lead)

    with pytest.raises(RunError, match="Emma Manager has a valid sign-off as Engineering Manager"):
        _assign(deployment, lead, role("DevOps Lead"), emma)


def test_naming_one_person_for_two_roles_at_creation_refuses_the_deployment(
    revision, lead, approvers
):
    emma = approvers["Engineering Manager"]

    with pytest.raises(RunError, match="Emma Manager cannot approve both Engineering Manager"):
        create_deployment(
            revision,
            user=lead,
            release_name="Two hats",
            version="1.0.0",
            service="svc",
            lead=lead,
            approvers=[(emma, "Engineering Manager"), (emma, "DevOps Lead")],
        )

    assert not Deployment.objects.filter(release_name="Two hats").exists()


def test_naming_one_person_twice_for_the_same_role_at_creation_assigns_them_once(
    revision, lead, approvers
):
    emma = approvers["Engineering Manager"]

    deployment = create_deployment(
        revision,
        user=lead,
        release_name="Said twice",
        version="1.0.0",
        service="svc",
        lead=lead,
        approvers=[(emma, "Engineering Manager"), (emma, "engineering manager")],
    )

    assert deployment.approver_assignments.get().user == emma


def test_the_database_refuses_a_second_assignment_of_one_person(deployment, approvers, role):
    emma = approvers["Engineering Manager"]
    participant = Participant.objects.get(deployment=deployment, user=emma)

    with pytest.raises(IntegrityError, match="approver_one_role_per_person"), transaction.atomic():
        ApproverAssignment.objects.create(
            deployment=deployment,
            role=role("DevOps Lead"),
            user=emma,
            participant=participant,
            is_backup=True,
        )


def _signoff(deployment, role, user, status="valid", decision="approve"):
    return SignOff.objects.create(
        deployment=deployment,
        role=role,
        signer=user,
        signer_name=user.username,
        deployment_lead=deployment.lead,
        decision=decision,
        comment="" if decision == "approve" else "No",
        checklist_hash="0" * 64,
        checklist_seq=1,
        status=status,
        stale_reason="changed" if status == "stale" else "",
    )


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_database_refuses_a_second_valid_sign_off_by_one_signer_written_directly(
    deployment, approvers, role, decision
):
    emma = approvers["Engineering Manager"]
    _signoff(deployment, role("Engineering Manager"), emma)

    # A rejection is that role's word as much as an approval: it counts too.
    with pytest.raises(IntegrityError, match="one_valid_signoff_per_signer"), transaction.atomic():
        _signoff(deployment, role("DevOps Lead"), emma, decision=decision)


def test_stale_and_superseded_sign_offs_of_a_signer_do_not_count(deployment, approvers, role):
    emma = approvers["Engineering Manager"]
    _signoff(deployment, role("Engineering Manager"), emma, status="stale")
    _signoff(deployment, role("QA Lead"), emma, status="superseded")

    _signoff(deployment, role("DevOps Lead"), emma)

    assert SignOff.objects.filter(signer=emma, status="valid").count() == 1


def test_signing_a_second_role_is_refused_by_the_service_with_the_rule(
    deployment, lead, approvers, role, sign
):
    emma = approvers["Engineering Manager"]
    sign(emma, "Engineering Manager")
    # Her assignment moved to DevOps Lead behind the services' back (the database
    # allows it: one assignment); her Engineering Manager approval still stands.
    ApproverAssignment.objects.filter(user=emma).update(role=role("DevOps Lead"), is_backup=True)

    with pytest.raises(NotAllowed) as refused:
        sign(emma, "DevOps Lead")

    assert refused.value.message == (
        "You already signed as Engineering Manager on this deployment: one person holds at "
        "most one sign-off role per deployment (separation of duties)."
    )
    assert SignOff.objects.filter(signer=emma).count() == 1
