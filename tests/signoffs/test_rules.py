"""A template revision's sign-off rules: edited by admins, inherited, copied onto deployments."""

import pytest
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.services import create_deployment
from tests.signoffs.conftest import client_for
from tests.signoffs.test_independence import TWO_PHASES

pytestmark = pytest.mark.django_db


@pytest.fixture
def revision(db):
    return save_template(parse_checklist(TWO_PHASES), source=TWO_PHASES)


def _url(revision):
    return reverse("signoffs:template_rules", args=[revision.template_id, revision.number])


def _form(revision, *, independent, pm_phases=None):
    """The page's form: QA Lead keeps all phases, Product Manager gets `pm_phases`
    (None: all phases)."""
    pm = revision.signoff_roles.get(name="Product Manager")
    qa = revision.signoff_roles.get(name="QA Lead")
    data = {f"all_{qa.pk}": "on"}
    if independent:
        data["require_independent"] = "on"
    if pm_phases is None:
        data[f"all_{pm.pk}"] = "on"
    else:
        data[f"phases_{pm.pk}"] = [str(p.pk) for p in revision.phases.filter(title__in=pm_phases)]
    return data


def test_new_revisions_require_independent_approvers_covering_every_phase(revision):
    assert revision.require_independent_approvers
    assert all(role.covers_all_phases for role in revision.signoff_roles.all())


def test_an_admin_edits_the_rules_and_the_change_is_audited(revision, admin_user):
    client = client_for(admin_user)
    page = client.get(_url(revision)).content.decode()
    assert "Approvers must be independent" in page and "Phase 2: Deployment day" in page

    response = client.post(
        _url(revision), _form(revision, independent=False, pm_phases=["Phase 2: Deployment day"])
    )

    assert response.status_code == 302
    revision.refresh_from_db()
    pm = revision.signoff_roles.get(name="Product Manager")
    assert not revision.require_independent_approvers
    assert not pm.covers_all_phases
    assert [p.title for p in pm.covered_phases.all()] == ["Phase 2: Deployment day"]
    event = AuditEvent.objects.get(action="template.signoff_rules")
    assert event.actor == admin_user and event.deployment is None
    assert event.before == {
        "independent": True,
        "roles": {"Product Manager": "all phases", "QA Lead": "all phases"},
    }
    assert event.after == {
        "independent": False,
        "roles": {"Product Manager": ["Phase 2: Deployment day"], "QA Lead": "all phases"},
    }
    detail = client.get(revision.get_absolute_url()).content.decode()
    assert "Approver independence: <strong>off</strong>" in detail
    assert 'Product Manager <span class="muted">covers Phase 2: Deployment day</span>' in detail


def test_saving_the_same_rules_again_changes_and_audits_nothing(revision, admin_user):
    client = client_for(admin_user)

    client.post(_url(revision), _form(revision, independent=True))

    assert not AuditEvent.objects.filter(action="template.signoff_rules").exists()


def test_a_lead_who_is_not_an_admin_is_refused_with_the_reason(revision, lead):
    response = client_for(lead).get(_url(revision))

    assert response.status_code == 403
    assert "only admins change them" in response.content.decode()


def test_the_next_revision_keeps_the_rules(revision, admin_user):
    client_for(admin_user).post(
        _url(revision), _form(revision, independent=False, pm_phases=["Phase 1: Preparation"])
    )
    edited = TWO_PHASES.replace("**Smoke tests pass**", "**Smoke tests pass** on staging")

    second = save_template(parse_checklist(edited), source=edited, template=revision.template)

    pm = second.signoff_roles.get(name="Product Manager")
    assert second.number == 2 and not second.require_independent_approvers
    assert [(p.title, p.revision_id) for p in pm.covered_phases.all()] == [
        ("Phase 1: Preparation", second.pk)
    ]
    assert second.signoff_roles.get(name="QA Lead").covers_all_phases


def test_a_deployment_copies_the_rules_of_its_revision(revision, admin_user, lead):
    client_for(admin_user).post(
        _url(revision), _form(revision, independent=True, pm_phases=["Phase 2: Deployment day"])
    )

    deployment = create_deployment(
        revision, user=lead, release_name="R", version="1", service="svc", lead=lead
    )

    assert deployment.require_independent_approvers
    pm = deployment.signoff_roles.get(name="Product Manager")
    assert not pm.covers_all_phases
    assert [(p.title, p.deployment_id) for p in pm.covered_phases.all()] == [
        ("Phase 2: Deployment day", deployment.pk)
    ]
    assert deployment.signoff_roles.get(name="QA Lead").covers_all_phases
