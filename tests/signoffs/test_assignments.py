"""Who approves each role: set up when the deployment is created, then by the lead."""

import pytest
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import Participant
from deploychecks.runs.services import NotAllowed, RunError, create_deployment
from deploychecks.signoffs import services
from deploychecks.signoffs.models import ApproverAssignment
from tests.signoffs.conftest import client_for

pytestmark = pytest.mark.django_db


def _assignments(deployment):
    return sorted(
        ApproverAssignment.objects.filter(deployment=deployment).values_list(
            "role__name", "user__username", "is_backup"
        )
    )


def test_creating_a_deployment_assigns_approvers_by_role_name(deployment):
    assert _assignments(deployment) == [
        ("DevOps Lead", "dev", False),
        ("Engineering Manager", "emma", False),
        ("Product Manager", "priya", False),
        ("QA Lead", "bob", True),
        ("QA Lead", "quinn", False),
    ]
    assert set(
        Participant.objects.filter(deployment=deployment, role="approver").values_list(
            "user__username", flat=True
        )
    ) == {"dev", "emma", "priya", "quinn", "bob"}


def test_unknown_role_names_and_the_lead_are_not_assigned(revision, lead, approver):
    deployment = create_deployment(
        revision,
        user=lead,
        release_name="R",
        version="1",
        service="svc",
        lead=lead,
        approvers={approver: "Chief Vibes Officer", lead: "QA Lead"},
    )
    assert _assignments(deployment) == []
    assert Participant.objects.filter(deployment=deployment, user=approver).exists()


def _assign(deployment, role, who, *, backup=False, by):
    return services.assign_approver(
        deployment_id=deployment.pk, role_id=role.pk, approver=who, is_backup=backup, user=by
    )


def test_the_lead_names_a_new_primary_which_replaces_the_old(deployment, lead, role, make_user):
    newcomer = make_user("nina")
    change = _assign(deployment, role("QA Lead"), newcomer, by=lead)
    assert change.changed
    assert [a for a in _assignments(deployment) if a[0] == "QA Lead"] == [
        ("QA Lead", "bob", True),
        ("QA Lead", "nina", False),
    ]
    assert Participant.objects.get(deployment=deployment, user=newcomer).role == "approver"
    event = AuditEvent.objects.get(action="approver.assigned")
    assert event.before == {"primary": "quinn"}
    assert event.after == {"role": "QA Lead", "user": "nina", "backup": False}


def test_a_backup_can_be_promoted_and_repeating_is_a_no_op(deployment, lead, role, backup):
    _assign(deployment, role("QA Lead"), backup, by=lead)
    assert not _assign(deployment, role("QA Lead"), backup, by=lead).changed
    assert [a for a in _assignments(deployment) if a[0] == "QA Lead"] == [("QA Lead", "bob", False)]


def test_a_viewer_named_approver_becomes_an_approver_participant(deployment, lead, role, viewer):
    _assign(deployment, role("DevOps Lead"), viewer, backup=True, by=lead)
    assert Participant.objects.get(deployment=deployment, user=viewer).role == "approver"


def test_the_lead_cannot_be_an_approver(deployment, lead, role):
    with pytest.raises(RunError, match="separation of duties"):
        _assign(deployment, role("QA Lead"), lead, by=lead)


@pytest.mark.parametrize("who", ["engineer", "approver", "outsider"])
def test_only_the_lead_assigns(request, deployment, role, backup, who):
    with pytest.raises(NotAllowed):
        _assign(deployment, role("DevOps Lead"), backup, by=request.getfixturevalue(who))


def test_the_lead_removes_an_approver(deployment, lead, backup):
    assignment = ApproverAssignment.objects.get(user=backup)
    services.remove_approver(deployment_id=deployment.pk, assignment_id=assignment.pk, user=lead)
    assert not ApproverAssignment.objects.filter(user=backup).exists()
    event = AuditEvent.objects.get(action="approver.removed")
    assert event.target_repr == "bob as backup for QA Lead" and event.before["user"] == "bob"


def test_taking_someone_off_the_deployment_removes_their_assignments(
    deployment, approver, lead, role
):
    Participant.objects.filter(deployment=deployment, user=approver).delete()
    assert not ApproverAssignment.objects.filter(user=approver).exists()
    # Added back later as a viewer, they cannot sign until the lead assigns them again.
    Participant.objects.create(deployment=deployment, user=approver, role="viewer")
    assert not ApproverAssignment.objects.filter(user=approver).exists()


def test_the_approvers_page_is_the_leads_alone(deployment, lead, engineer, approver, outsider):
    url = reverse("signoffs:approvers", args=[deployment.pk])
    assert client_for(lead).get(url).status_code == 200
    assert client_for(engineer).get(url).status_code == 403
    assert client_for(approver).post(url, {"remove": "1"}).status_code == 403
    assert client_for(outsider).get(url).status_code == 404


def test_the_approvers_page_assigns_and_removes(deployment, lead, role, make_user):
    url = reverse("signoffs:approvers", args=[deployment.pk])
    client = client_for(lead)
    newcomer = make_user("nina")
    page = client.get(url).content.decode()
    assert "Emma Manager" in page and "Bob Backup" in page
    assert f'<option value="{lead.pk}"' not in page  # the lead is not offered
    response = client.post(
        url, {"role": role("DevOps Lead").pk, "user": newcomer.pk, "kind": "backup"}
    )
    assert response.status_code == 302
    assert ApproverAssignment.objects.get(user=newcomer).is_backup
    assignment = ApproverAssignment.objects.get(user=newcomer)
    client.post(url, {"remove": assignment.pk})
    assert not ApproverAssignment.objects.filter(user=newcomer).exists()
    response = client.post(
        url, {"role": role("DevOps Lead").pk, "user": lead.pk, "kind": "primary"}
    )
    assert response.status_code == 422
