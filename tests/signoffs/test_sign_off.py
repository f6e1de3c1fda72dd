"""Who may sign, how, and what a sign-off records."""

import pytest
from django.db import IntegrityError, transaction

from deploychecks.accounts import reauth
from deploychecks.audit.models import AuditEvent
from deploychecks.runs.services import NotAllowed, RunError
from deploychecks.signoffs import services
from deploychecks.signoffs.models import SignOff

pytestmark = pytest.mark.django_db


def test_assigned_approver_signs_and_the_checklist_state_is_recorded(deployment, approver, sign):
    change = sign(approver, "QA Lead", comment="Regression suite green")

    signoff = SignOff.objects.get()
    deployment.refresh_from_db()
    assert change.changed and signoff == change.obj
    assert (signoff.signer, signoff.signer_name, signoff.decision, signoff.status) == (
        approver,
        "quinn",
        "approve",
        "valid",
    )
    assert signoff.comment == "Regression suite green"
    assert signoff.checklist_hash == services.checklist_hash(deployment.pk)
    assert len(signoff.checklist_hash) == 64
    assert signoff.checklist_seq == change.seq == deployment.seq
    assert signoff.deployment_lead_id == deployment.lead_id
    event = AuditEvent.objects.get(action="signoff.approved")
    assert (event.actor, event.seq, event.target_repr) == (approver, change.seq, "as QA Lead")
    assert event.after["checklist_hash"] == signoff.checklist_hash


def test_a_backup_may_sign_for_their_role(backup, sign):
    sign(backup, "QA Lead")
    assert SignOff.objects.get().signer == backup


@pytest.mark.parametrize("who", ["engineer", "viewer", "approver_of_another_role"])
def test_only_the_assigned_approver_or_backup_may_sign(request, who, approvers, sign):
    user = (
        approvers["DevOps Lead"]
        if who == "approver_of_another_role"
        else request.getfixturevalue(who)
    )
    with pytest.raises(NotAllowed, match="Only the assigned approver or a backup for QA Lead"):
        sign(user, "QA Lead")
    assert not SignOff.objects.exists()


def test_an_outsider_cannot_sign(outsider, sign):
    with pytest.raises(NotAllowed, match="do not have access"):
        sign(outsider, "QA Lead")


def test_nobody_signs_for_someone_else(approver, engineer, sign, signing_request):
    # The engineer's request, naming quinn as the signer.
    with pytest.raises(NotAllowed, match="Nobody can sign for someone else"):
        sign(approver, "QA Lead", request=signing_request(engineer))
    assert not SignOff.objects.exists()


def test_the_lead_cannot_sign_their_own_deployment(deployment, lead, role, sign):
    # Even if they were (wrongly) assigned, e.g. before becoming the lead.
    from deploychecks.runs.models import Participant
    from deploychecks.signoffs.models import ApproverAssignment

    participant = Participant.objects.create(deployment=deployment, user=lead, role="approver")
    ApproverAssignment.objects.create(
        deployment=deployment,
        role=role("QA Lead"),
        user=lead,
        participant=participant,
        is_backup=True,
    )
    with pytest.raises(NotAllowed, match="lead cannot sign off their own deployment"):
        sign(lead, "QA Lead")
    assert not SignOff.objects.exists()


def test_the_database_refuses_a_sign_off_by_the_lead(deployment, lead, role):
    with pytest.raises(IntegrityError, match="signoff_signer_is_not_lead"), transaction.atomic():
        SignOff.objects.create(
            deployment=deployment,
            role=role("QA Lead"),
            signer=lead,
            signer_name="lena",
            deployment_lead=lead,
            decision="approve",
            checklist_hash="0" * 64,
            checklist_seq=1,
        )


def test_the_database_keeps_one_valid_sign_off_per_role(deployment, approver, backup, role):
    def create(user):
        SignOff.objects.create(
            deployment=deployment,
            role=role("QA Lead"),
            signer=user,
            signer_name=user.username,
            decision="approve",
            checklist_hash="0" * 64,
            checklist_seq=1,
        )

    create(approver)
    with pytest.raises(IntegrityError, match="one_valid_signoff_per_role"), transaction.atomic():
        create(backup)
    SignOff.objects.update(status="superseded")
    create(backup)  # a valid one again, next to the superseded
    assert SignOff.objects.filter(status="valid").count() == 1


def test_the_database_refuses_a_rejection_without_comment(deployment, approver, role):
    with pytest.raises(IntegrityError, match="signoff_reject_has_comment"), transaction.atomic():
        SignOff.objects.create(
            deployment=deployment,
            role=role("QA Lead"),
            signer=approver,
            signer_name="quinn",
            decision="reject",
            comment="",
            checklist_hash="0" * 64,
            checklist_seq=1,
        )


@pytest.mark.parametrize("comment", ["", "   \n "])
def test_rejecting_needs_a_reason(approver, sign, comment):
    with pytest.raises(RunError, match="rejection needs a reason"):
        sign(approver, "QA Lead", decision="reject", comment=comment)
    assert not SignOff.objects.exists()


def test_a_rejection_with_a_reason_is_recorded(approver, sign):
    sign(approver, "QA Lead", decision="reject", comment="Smoke tests failed on iOS")
    signoff = SignOff.objects.get()
    assert (signoff.decision, signoff.comment) == ("reject", "Smoke tests failed on iOS")
    assert AuditEvent.objects.filter(action="signoff.rejected").count() == 1


def test_an_unknown_decision_is_refused(approver, sign):
    with pytest.raises(RunError, match="approve or reject"):
        sign(approver, "QA Lead", decision="maybe")


def test_signing_needs_a_password_confirmation(approver, sign, signing_request):
    with pytest.raises(services.ReauthRequired):
        sign(approver, "QA Lead", request=signing_request(approver, reauth_age=None))
    assert not SignOff.objects.exists()


def test_a_password_confirmation_expires_after_the_window(
    approver, sign, signing_request, settings
):
    settings.REAUTH_WINDOW_SECONDS = 300
    with pytest.raises(services.ReauthRequired):
        sign(approver, "QA Lead", request=signing_request(approver, reauth_age=301))
    sign(approver, "QA Lead", request=signing_request(approver, reauth_age=299))
    assert SignOff.objects.filter(status="valid").count() == 1


def test_the_window_is_configurable(approver, sign, signing_request, settings):
    settings.REAUTH_WINDOW_SECONDS = 60
    with pytest.raises(services.ReauthRequired):
        sign(approver, "QA Lead", request=signing_request(approver, reauth_age=90))


def test_reauthenticate_checks_the_password_and_stamps_the_session(approver, signing_request):
    from tests.signoffs.conftest import PASSWORD

    request = signing_request(approver, reauth_age=None)
    assert not reauth.reauthenticate(request, "wrong password")
    assert not reauth.reauthenticate(request, "")
    assert reauth.REAUTH_SESSION_KEY not in request.session
    assert reauth.reauthenticate(request, PASSWORD)
    assert reauth.reauth_is_fresh(request)


def test_signing_the_same_again_is_a_no_op(approver, sign):
    first = sign(approver, "QA Lead", comment="ok")
    again = sign(approver, "QA Lead", comment="ok")
    assert not again.changed and again.obj == first.obj
    assert SignOff.objects.count() == 1
    assert AuditEvent.objects.filter(action="signoff.approved").count() == 1


def test_a_new_sign_off_supersedes_the_previous_one(approver, backup, sign):
    first = sign(approver, "QA Lead")
    second = sign(backup, "QA Lead", decision="reject", comment="Found a blocker")
    first.obj.refresh_from_db()
    assert first.obj.status == "superseded" and first.obj.invalidated_at is not None
    assert SignOff.objects.get(status="valid") == second.obj
    assert AuditEvent.objects.get(action="signoff.rejected").before["signer"] == "quinn"


def test_a_checklist_changed_since_the_page_was_shown_is_refused(
    deployment, approver, engineer, first_item, sign
):
    from deploychecks.runs.services import set_item_state

    shown = services.checklist_hash(deployment.pk)
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    with pytest.raises(services.ChecklistChanged):
        sign(approver, "QA Lead", expected_hash=shown)
    sign(approver, "QA Lead", expected_hash=services.checklist_hash(deployment.pk))


def test_no_sign_offs_on_a_finished_deployment(deployment, lead, approver, sign):
    from deploychecks.runs.services import change_status

    change_status(deployment_id=deployment.pk, to="aborted", user=lead)
    with pytest.raises(NotAllowed, match="aborted; sign-offs are closed"):
        sign(approver, "QA Lead")


def test_an_unknown_role_is_refused(deployment, approver, signing_request):
    with pytest.raises(RunError, match="no such sign-off role"):
        services.sign_off(
            deployment_id=deployment.pk,
            role_id=10**9,
            user=approver,
            decision="approve",
            request=signing_request(approver),
            expected_hash=services.checklist_hash(deployment.pk),
        )
