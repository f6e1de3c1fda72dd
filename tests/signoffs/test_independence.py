"""Approver independence: nobody approves a phase they ticked, marked N/A or noted.

An engineer of the deployment (erin) is also its Product Manager approver, the
case the rule exists for.
"""

import pytest

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.models import RunItem, RunSubCheck
from deploychecks.runs.services import (
    NotAllowed,
    add_item_note,
    create_deployment,
    set_item_state,
    set_subcheck_state,
)
from deploychecks.signoffs import rules, services
from deploychecks.signoffs.models import SignOff
from tests.gates import go_live, override, ready_to_complete
from tests.signoffs.conftest import client_for

pytestmark = pytest.mark.django_db

TWO_PHASES = """# Two phases

## Phase 1: Preparation

- [ ] **Backup created**
  - [ ] Restore tested
- [ ] **Freeze announced**

## Phase 2: Deployment day

- [ ] **Deploy the release**
- [ ] **Smoke tests pass**

## Approval sign-off

- [ ] **Product Manager**: signature and date
- [ ] **QA Lead**: signature and date
"""


@pytest.fixture
def revision(db):
    return save_template(parse_checklist(TWO_PHASES), source=TWO_PHASES)


@pytest.fixture
def start(revision, lead, engineer, second_engineer, approver):
    """start() -> a new deployment of the revision as it is now, erin both
    engineer and Product Manager approver (quinn approves QA)."""

    def make():
        return create_deployment(
            revision,
            user=lead,
            release_name="Spring release",
            version="2.0.0",
            service="checkout-api",
            lead=lead,
            engineers=[engineer, second_engineer],
            approvers={engineer: "Product Manager", approver: "QA Lead"},
        )

    return make


@pytest.fixture
def deployment(start):
    return start()


def _item(deployment, title) -> RunItem:
    return deployment.items.get(title=title)


def _tick(deployment, title, user, state="done", reason=""):
    item = _item(deployment, title)
    item.refresh_from_db()
    set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state=state,
        expected_version=item.version,
        user=user,
        reason=reason,
    )


@pytest.fixture
def sign_in(signing_request):
    """sign_in(deployment, user, role name, decision) with the current checklist hash."""

    def do(target, user, role_name, decision="approve"):
        return services.sign_off(
            deployment_id=target.pk,
            role_id=target.signoff_roles.get(name=role_name).pk,
            user=user,
            decision=decision,
            comment="" if decision == "approve" else "Not ready",
            request=signing_request(user),
            expected_hash=services.checklist_hash(target.pk),
        )

    return do


def _work(kind, deployment, user):
    """erin's work on an item of phase 1, of each kind the rule counts."""
    backup = _item(deployment, "Backup created")
    if kind == "ticked":
        _tick(deployment, "Backup created", user)
    elif kind == "marked N/A":
        _tick(deployment, "Freeze announced", user, state="na", reason="No freeze for patches")
    elif kind == "noted":
        add_item_note(deployment_id=deployment.pk, item_id=backup.pk, body="Took 40 min", user=user)
    elif kind == "noted a deviation":
        add_item_note(
            deployment_id=deployment.pk,
            item_id=backup.pk,
            body="Restored by hand",
            kind="deviation",
            user=user,
        )
    elif kind == "ticked a sub-check":
        sub = RunSubCheck.objects.get(item=backup)
        set_subcheck_state(
            deployment_id=deployment.pk,
            subcheck_id=sub.pk,
            done=True,
            expected_version=1,
            user=user,
        )


KINDS = ["ticked", "marked N/A", "noted", "noted a deviation", "ticked a sub-check"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_approver_who_worked_on_a_covered_phase_cannot_sign(deployment, engineer, sign_in, kind):
    _work(kind, deployment, engineer)

    with pytest.raises(NotAllowed) as refused:
        sign_in(deployment, engineer, "Product Manager")

    message = refused.value.message
    assert message.startswith(
        "Separation of duties (approver independence): you ticked, marked N/A or noted items in "
        "“Phase 1: Preparation”"
    )
    assert "which the Product Manager sign-off covers, so you cannot sign as Product Manager" in (
        message
    )
    assert "an admin can still complete the deployment without this approval through the " in (
        message
    )
    assert not SignOff.objects.exists()


def test_rejecting_is_refused_too(deployment, engineer, sign_in):
    _tick(deployment, "Backup created", engineer)

    with pytest.raises(NotAllowed, match="approver independence"):
        sign_in(deployment, engineer, "Product Manager", "reject")


def test_work_redone_by_someone_else_still_counts(deployment, engineer, second_engineer, sign_in):
    _tick(deployment, "Backup created", engineer)
    _tick(deployment, "Backup created", second_engineer, state="open")
    _tick(deployment, "Backup created", second_engineer)
    assert _item(deployment, "Backup created").changed_by == second_engineer

    with pytest.raises(NotAllowed, match="approver independence"):
        sign_in(deployment, engineer, "Product Manager")


def test_reopening_an_item_is_not_work_on_it(deployment, engineer, second_engineer, sign_in):
    _tick(deployment, "Backup created", second_engineer)
    _tick(deployment, "Backup created", engineer, state="open")  # a reviewer takes it back

    assert sign_in(deployment, engineer, "Product Manager").changed


def test_work_by_other_people_does_not_stop_an_approver(
    deployment, engineer, second_engineer, sign_in
):
    _tick(deployment, "Backup created", second_engineer)

    assert sign_in(deployment, engineer, "Product Manager").changed


def _narrow(revision, admin, role_name, phase_titles):
    role = revision.signoff_roles.get(name=role_name)
    phases = set(revision.phases.filter(title__in=phase_titles).values_list("pk", flat=True))
    rules.save_signoff_rules(
        revision, require_independent=True, coverage={role.pk: phases}, user=admin
    )


def test_work_on_a_phase_the_role_does_not_cover_is_allowed(
    revision, start, engineer, admin_user, sign_in
):
    _narrow(revision, admin_user, "Product Manager", ["Phase 2: Deployment day"])
    deployment = start()
    _tick(deployment, "Backup created", engineer)  # phase 1: not covered

    change = sign_in(deployment, engineer, "Product Manager")

    assert change.changed and change.obj.signer == engineer


def test_work_on_a_narrowed_roles_own_phase_is_refused(
    revision, start, engineer, admin_user, sign_in
):
    _narrow(revision, admin_user, "Product Manager", ["Phase 2: Deployment day"])
    deployment = start()
    _tick(deployment, "Deploy the release", engineer)

    with pytest.raises(NotAllowed, match="items in “Phase 2: Deployment day”"):
        sign_in(deployment, engineer, "Product Manager")


def test_with_the_rule_switched_off_the_approver_may_sign(
    revision, start, engineer, admin_user, sign_in
):
    rules.save_signoff_rules(revision, require_independent=False, coverage={}, user=admin_user)
    deployment = start()
    _tick(deployment, "Backup created", engineer)

    assert sign_in(deployment, engineer, "Product Manager").changed


def test_a_deployment_keeps_the_rule_it_started_with(
    revision, deployment, engineer, admin_user, sign_in
):
    rules.save_signoff_rules(revision, require_independent=False, coverage={}, user=admin_user)
    _tick(deployment, "Backup created", engineer)

    with pytest.raises(NotAllowed, match="approver independence"):
        sign_in(deployment, engineer, "Product Manager")


def test_the_panel_says_why_instead_of_offering_the_form(deployment, engineer, approver):
    _tick(deployment, "Backup created", engineer)
    pm = deployment.signoff_roles.get(name="Product Manager")

    html = client_for(engineer).get(deployment.get_absolute_url()).content.decode()

    box = html.split(f'id="signoff-role-{pm.pk}"', 1)[1].split("</li>", 1)[0]
    assert "You cannot sign as Product Manager." in box
    assert "approver independence" in box and "“Backup created”" in box
    assert "signoff-form" not in box
    # quinn did nothing on the checklist: the QA form is there for him.
    assert (
        'class="signoff-form"'
        in client_for(approver).get(deployment.get_absolute_url()).content.decode()
    )


def test_an_admin_completes_past_a_role_nobody_independent_signed_with_an_audited_override(
    deployment, lead, engineer, approver, admin_user, sign_in
):
    _tick(deployment, "Backup created", engineer)
    sign_in(deployment, approver, "QA Lead")
    go_live(deployment, lead)
    ready_to_complete(deployment)
    with pytest.raises(NotAllowed):
        sign_in(deployment, engineer, "Product Manager")
    # A superuser reads every deployment (as managers do) and may override.
    admin_user.is_superuser = True
    admin_user.save(update_fields=["is_superuser"])

    override(
        deployment, admin_user, "completed", "PM approved in the change board; erin did the prep"
    )

    deployment.refresh_from_db()
    assert deployment.status == "completed"
    event = AuditEvent.objects.get(action="deployment.override")
    assert "Product Manager" in [c["label"] for c in event.after["conditions"]]
