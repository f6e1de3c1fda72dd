""" "New deployment" in Chromium: choosing another template brings its sign-off
roles' approver selects, and the picks land in those roles (issue 12 §4)."""

import pytest
from playwright.sync_api import expect

from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.models import Deployment
from deploychecks.signoffs.models import ApproverAssignment
from tests.conftest import may_start_deployments

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOTFIX = """\
# Hotfix

## Go

- [ ] Ship

## Approval sign-off

- [ ] **Release Manager**: signature and date
"""


def test_the_approver_selects_follow_the_template_and_fill_its_roles(
    open_as, lead, approver, purge_audit_events
):
    ensure_default_template()
    hotfix = save_template(parse_checklist(HOTFIX), source=HOTFIX, user=lead)
    page = open_as(may_start_deployments(lead), "/deployments/new/")
    roles = page.locator("#approver-roles label")
    expect(roles).to_have_text(["Engineering Manager", "DevOps Lead", "Product Manager", "QA Lead"])

    page.select_option("#id_revision", str(hotfix.pk))

    expect(roles).to_have_text(["Release Manager"])
    page.select_option("#approver-roles select", label="quinn (quinn)")
    page.fill("#id_release_name", "Friday fix")
    page.fill("#id_version", "2.0.1")
    page.fill("#id_service", "billing")
    page.click("button.primary")

    expect(page.locator("h1")).to_contain_text("Friday fix")
    deployment = Deployment.objects.get(release_name="Friday fix")
    assert [(a.role.name, a.user.username) for a in ApproverAssignment.objects.all()] == [
        ("Release Manager", "quinn")
    ]
    assert deployment.revision_id == hotfix.pk
