"""A deployment completes only with every role's valid approval, or an admin's override."""

import pytest
from django.contrib.auth.models import Group

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import Participant
from deploychecks.runs.services import IllegalTransition, NotAllowed, RunError, change_status
from tests.signoffs.conftest import ROLES, client_for

pytestmark = pytest.mark.django_db


def _complete(deployment, user, **extra):
    return change_status(deployment_id=deployment.pk, to="completed", user=user, **extra)


def _approve_all(approvers, sign, but=()):
    for name in ROLES:
        if name not in but:
            sign(approvers[name], name)


@pytest.fixture
def admin(admin_user, monitoring):
    # An admin who can see the deployment (as a viewer of it).
    Participant.objects.create(deployment=monitoring, user=admin_user, role="viewer")
    return admin_user


def test_completing_is_refused_until_every_role_has_approved(monitoring, lead, approvers, sign):
    _approve_all(approvers, sign, but=["DevOps Lead", "QA Lead"])
    with pytest.raises(IllegalTransition) as caught:
        _complete(monitoring, lead)
    assert caught.value.message == (
        "This deployment cannot be completed yet: it needs a valid approval from "
        "DevOps Lead, QA Lead."
    )
    monitoring.refresh_from_db()
    assert monitoring.status == "monitoring"


def test_completing_with_every_approval_works(monitoring, lead, approvers, sign):
    _approve_all(approvers, sign)
    change = _complete(monitoring, lead)
    monitoring.refresh_from_db()
    assert change.changed and monitoring.status == "completed"
    assert monitoring.completion_override_at is None


def test_a_rejection_or_a_stale_approval_blocks_completion(
    monitoring, lead, engineer, approvers, first_item, sign
):
    from deploychecks.runs.services import set_item_state

    _approve_all(approvers, sign, but=["QA Lead"])
    sign(approvers["QA Lead"], "QA Lead", decision="reject", comment="Login broken")
    with pytest.raises(IllegalTransition, match=r"from QA Lead \(rejected\)\."):
        _complete(monitoring, lead)
    set_item_state(
        deployment_id=monitoring.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    with pytest.raises(IllegalTransition) as caught:
        _complete(monitoring, lead)
    assert caught.value.message.endswith(
        "Engineering Manager (stale), DevOps Lead (stale), Product Manager (stale), "
        "QA Lead (stale)."
    )


def test_an_admin_may_override_with_a_reason_and_it_is_audited(monitoring, admin, approvers, sign):
    _approve_all(approvers, sign, but=["Product Manager"])
    change = _complete(monitoring, admin, override_reason="PM on leave; CTO approved by phone")

    monitoring.refresh_from_db()
    assert change.changed and monitoring.status == "completed"
    assert monitoring.completion_override_by == admin
    assert monitoring.completion_override_name == "ada"
    assert monitoring.completion_override_reason == "PM on leave; CTO approved by phone"
    assert monitoring.completion_override_at is not None
    event = AuditEvent.objects.get(action="deployment.completion_override")
    assert event.actor == admin and event.after == {
        "reason": "PM on leave; CTO approved by phone",
        "missing": ["Product Manager"],
    }
    status_event = AuditEvent.objects.filter(action="deployment.status").latest("seq")
    assert status_event.seq == event.seq + 1 == monitoring.seq


def test_the_override_is_shown_on_the_run_page(monitoring, admin, viewer):
    _complete(monitoring, admin, override_reason="Emergency <b>fix</b>")
    html = client_for(viewer).get(monitoring.get_absolute_url()).content.decode()
    assert 'id="completion-override-banner"' in html
    assert "Completed without every approval." in html and "ada overrode the sign-off gate" in html
    assert "Emergency &lt;b&gt;fix&lt;/b&gt;" in html


def test_a_superuser_may_override(monitoring, make_user):
    root = make_user("root", is_superuser=True)  # sees every deployment as a manager
    _complete(monitoring, root, override_reason="Approvers unreachable")
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.completion_override_by == root


@pytest.mark.parametrize("who", ["lead", "engineer", "viewer"])
def test_only_an_admin_may_override(request, monitoring, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed, match="Only an admin"):
        _complete(monitoring, user, override_reason="Trust me")
    monitoring.refresh_from_db()
    assert monitoring.status == "monitoring"
    assert not AuditEvent.objects.filter(action="deployment.completion_override").exists()


def test_an_admin_needs_a_reason(monitoring, admin):
    with pytest.raises(NotAllowed, match="Only the lead and engineers"):
        _complete(monitoring, admin, override_reason="   ")


def test_an_override_only_applies_to_completing(monitoring, admin):
    with pytest.raises(IllegalTransition, match="only applies to completing"):
        change_status(
            deployment_id=monitoring.pk, to="aborted", user=admin, override_reason="whatever"
        )


def test_no_override_is_recorded_when_nothing_is_missing(monitoring, admin, approvers, sign):
    _approve_all(approvers, sign)
    _complete(monitoring, admin, override_reason="Just in case")
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.completion_override_at is None
    assert not AuditEvent.objects.filter(action="deployment.completion_override").exists()


def test_the_admins_group_counts_as_admin(admin_user):
    from deploychecks.accounts.people import is_admin

    assert is_admin(admin_user)
    admin_user.groups.remove(Group.objects.get(name="admins"))
    assert not is_admin(admin_user)


def test_the_status_view_passes_the_override(monitoring, admin):
    response = client_for(admin).post(
        f"/deployments/{monitoring.pk}/status/",
        {"to": "completed", "override_reason": "Go"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.completion_override_reason == "Go"
    assert 'id="completion-override-banner"' in response.content.decode()


def test_the_lead_gets_a_clear_refusal_from_the_status_view(monitoring, lead):
    response = client_for(lead).post(
        f"/deployments/{monitoring.pk}/status/", {"to": "completed"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert "needs a valid approval from Engineering Manager, DevOps Lead" in (
        response.content.decode()
    )


def test_reasons_have_a_limit(monitoring, admin):
    with pytest.raises(RunError, match="too long"):
        _complete(monitoring, admin, override_reason="x" * 1001)
