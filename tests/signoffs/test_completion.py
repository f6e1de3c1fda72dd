"""A deployment completes only with every role's valid approval, or an override by
the lead or an admin (with a reason and a fresh password, naming what it overrides)."""

import pytest
from django.contrib.auth.models import Group

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import GateOverride, Participant
from deploychecks.runs.services import IllegalTransition, NotAllowed, RunError, change_status
from tests.gates import confirmed_request, override
from tests.signoffs.conftest import PASSWORD, ROLES, client_for

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
    assert not monitoring.overrides.exists()


def test_a_rejection_or_a_stale_approval_blocks_completion(
    monitoring, lead, engineer, approvers, first_item, sign
):
    from deploychecks.runs.services import set_item_state

    _approve_all(approvers, sign, but=["QA Lead"])
    sign(approvers["QA Lead"], "QA Lead", decision="reject", comment="Login broken")
    with pytest.raises(IllegalTransition, match=r"from QA Lead \(rejected\)\."):
        _complete(monitoring, lead)
    first_item.refresh_from_db()
    set_item_state(
        deployment_id=monitoring.pk,
        item_id=first_item.pk,
        state="na",
        reason="Not needed for this release",
        expected_version=first_item.version,
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
    change = override(monitoring, admin, "completed", "PM on leave; CTO approved by phone")

    monitoring.refresh_from_db()
    assert change.changed and monitoring.status == "completed"
    record = GateOverride.objects.get(deployment=monitoring)
    assert (record.by, record.by_name, record.to_status) == (admin, "ada", "completed")
    assert record.reason == "PM on leave; CTO approved by phone"
    role = monitoring.signoff_roles.get(name="Product Manager")
    assert record.conditions == [
        {"key": f"signoff:{role.pk}", "kind": "signoff", "label": "Product Manager"}
    ]
    event = AuditEvent.objects.get(action="deployment.override")
    assert event.actor == admin and event.after == {
        "to": "completed",
        "reason": "PM on leave; CTO approved by phone",
        "conditions": record.conditions,
    }
    status_event = AuditEvent.objects.filter(action="deployment.status").latest("seq")
    assert status_event.seq == event.seq + 1
    # Completing opens the retrospective, under the next number (deploychecks.retros).
    opened = AuditEvent.objects.get(action="retro.opened")
    assert opened.seq == status_event.seq + 1 == monitoring.seq


def test_the_override_is_shown_on_the_run_page(monitoring, admin, viewer):
    override(monitoring, admin, "completed", "Emergency <b>fix</b>")
    html = client_for(viewer).get(monitoring.get_absolute_url()).content.decode()
    assert 'class="override-banner"' in html
    assert (
        "Gate overridden to completed." in html
        and "<bdi>ada</bdi> went past 4 unmet conditions" in html
    )
    assert "Emergency &lt;b&gt;fix&lt;/b&gt;" in html


def test_a_superuser_may_override(monitoring, make_user):
    root = make_user("root", is_superuser=True)  # sees every deployment as a manager
    override(monitoring, root, "completed", "Approvers unreachable")
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.overrides.get().by == root


def test_the_lead_may_override(monitoring, lead):
    override(monitoring, lead, "completed", "Approvers unreachable; the CTO said go")
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.overrides.get().by == lead


@pytest.mark.parametrize("who", ["engineer", "viewer"])
def test_only_the_lead_or_an_admin_may_override(request, monitoring, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed, match="Only the lead of this deployment or an admin"):
        override(monitoring, user, "completed", "Trust me")
    monitoring.refresh_from_db()
    assert monitoring.status == "monitoring"
    assert not GateOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="deployment.override").exists()


def test_an_override_needs_a_fresh_password_confirmation(monitoring, admin):
    stale = confirmed_request(admin)
    stale.session["reauth_at"] -= 301
    with pytest.raises(NotAllowed, match="Confirm your password"):
        override(monitoring, admin, "completed", "Go", request=stale)
    assert not GateOverride.objects.exists()


def test_an_override_names_exactly_the_unmet_conditions(monitoring, lead, approvers, sign):
    _approve_all(approvers, sign, but=["QA Lead"])
    qa = monitoring.signoff_roles.get(name="QA Lead")
    em = monitoring.signoff_roles.get(name="Engineering Manager")

    def attempt(keys):
        return change_status(
            deployment_id=monitoring.pk,
            to="completed",
            user=lead,
            request=confirmed_request(lead),
            override_reason="QA is on leave",
            override=keys,
        )

    for keys in ([], [f"signoff:{qa.pk}", f"signoff:{em.pk}"], [f"signoff:{em.pk}"]):
        with pytest.raises(IllegalTransition, match="The conditions changed since they were shown"):
            attempt(keys)
    assert not GateOverride.objects.exists()
    attempt([f"signoff:{qa.pk}"])
    assert GateOverride.objects.get().labels == ["QA Lead"]


def test_an_admin_needs_a_reason(monitoring, admin):
    with pytest.raises(RunError, match="needs a reason"):
        change_status(
            deployment_id=monitoring.pk,
            to="completed",
            user=admin,
            request=confirmed_request(admin),
            override_reason="   ",
            override=["signoff:1"],
        )


def test_an_override_only_applies_to_going_live_or_completing(monitoring, admin):
    with pytest.raises(IllegalTransition, match="only applies to going live or completing"):
        change_status(
            deployment_id=monitoring.pk, to="aborted", user=admin, override_reason="whatever"
        )


def test_no_override_is_recorded_when_nothing_is_missing(monitoring, admin, approvers, sign):
    _approve_all(approvers, sign)
    override(monitoring, admin, "completed", "Just in case")
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and not GateOverride.objects.exists()
    assert not AuditEvent.objects.filter(action="deployment.override").exists()


def test_the_admins_group_counts_as_admin(admin_user):
    from deploychecks.accounts.people import is_admin

    assert is_admin(admin_user)
    admin_user.groups.remove(Group.objects.get(name="admins"))
    assert not is_admin(admin_user)


def test_the_status_view_passes_the_override(monitoring, admin):
    client = client_for(admin)
    keys = [f"signoff:{r.pk}" for r in monitoring.signoff_roles.order_by("position")]
    response = client.post(
        f"/deployments/{monitoring.pk}/override/",
        {"to": "completed", "override_reason": "Go", "override": keys, "password": PASSWORD},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    monitoring.refresh_from_db()
    assert monitoring.status == "completed" and monitoring.overrides.get().reason == "Go"
    assert 'class="override-banner"' in response.content.decode()


def test_a_wrong_password_changes_nothing(monitoring, admin):
    keys = [f"signoff:{r.pk}" for r in monitoring.signoff_roles.order_by("position")]
    response = client_for(admin).post(
        f"/deployments/{monitoring.pk}/override/",
        {"to": "completed", "override_reason": "Go", "override": keys, "password": "nope"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert "That password is not right" in response.content.decode()
    monitoring.refresh_from_db()
    assert monitoring.status == "monitoring" and not GateOverride.objects.exists()


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
