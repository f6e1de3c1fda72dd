""" "New deployment": each approver is picked for a sign-off role, on the same form,
and the created deployment's sign-off slots get those people (issue 12 §4)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.models import Deployment
from deploychecks.signoffs.models import ApproverAssignment
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db

OTHER = """\
# Hotfix

## Go

- [ ] Ship

## Approval sign-off

- [ ] **Release Manager**: signature and date
"""


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _form(revision, **extra):
    return {
        "revision": revision.pk,
        "roles_of": revision.pk,
        "release_name": "Autumn",
        "version": "2.1.0",
        "service": "billing",
        "environment": "production",
        **extra,
    }


def _role_field(revision, name: str) -> str:
    return f"approver_{revision.signoff_roles.get(name=name).pk}"


def test_the_form_has_one_approver_select_per_sign_off_role(revision, lead, approver):
    html = _client(may_start_deployments(lead)).get(reverse("runs:create")).content.decode()

    fieldset = re.search(r'<fieldset id="approver-roles".*?</fieldset>', html, re.S).group(0)
    labels = re.findall(r'<label for="id_approver_\d+">([^<]+)</label>', fieldset)
    assert labels == ["Engineering Manager", "DevOps Lead", "Product Manager", "QA Lead"]
    assert "(quinn)" in fieldset
    assert "(lena)" not in fieldset  # the lead cannot approve their own deployment
    # The template whose roles these are is the one chosen (it read "---------").
    assert f'<option value="{revision.pk}" selected>' in html


def test_approvers_picked_per_role_get_those_roles(
    revision, lead, approver, engineer, second_engineer
):
    data = _form(
        revision,
        engineers=[engineer.pk],
        **{
            _role_field(revision, "QA Lead"): approver.pk,
            _role_field(revision, "DevOps Lead"): second_engineer.pk,
        },
    )

    response = _client(may_start_deployments(lead)).post(reverse("runs:create"), data)

    assert response.status_code == 302, response.content.decode()
    deployment = Deployment.objects.get(release_name="Autumn")
    slots = {
        a.role.name: (a.user.username, a.is_backup)
        for a in ApproverAssignment.objects.filter(deployment=deployment)
    }
    assert slots == {"QA Lead": ("quinn", False), "DevOps Lead": ("sam", False)}
    roles = dict(deployment.participants.values_list("user__username", "role"))
    assert roles == {"erin": "engineer", "quinn": "approver", "sam": "approver"}


def test_one_person_picked_for_two_roles_is_refused_in_the_form(revision, lead, approver):
    data = _form(
        revision,
        **{
            _role_field(revision, "QA Lead"): approver.pk,
            _role_field(revision, "Product Manager"): approver.pk,
        },
    )

    response = _client(may_start_deployments(lead)).post(reverse("runs:create"), data)

    assert response.status_code == 422
    assert "already approves" in response.content.decode()
    assert not Deployment.objects.filter(release_name="Autumn").exists()


def test_the_lead_cannot_pick_themselves_as_an_approver(revision, lead):
    data = _form(revision, **{_role_field(revision, "QA Lead"): lead.pk})

    response = _client(may_start_deployments(lead)).post(reverse("runs:create"), data)

    assert response.status_code == 422
    assert not Deployment.objects.filter(release_name="Autumn").exists()


def test_another_template_brings_its_own_roles(revision, lead, approver):
    other = save_template(parse_checklist(OTHER), source=OTHER, user=lead)
    client = _client(may_start_deployments(lead))

    fragment = client.get(reverse("runs:create"), {"revision": other.pk}).content.decode()
    changed = client.post(
        reverse("runs:create"),
        _form(revision, roles_of=other.pk, **{f"approver_{other.signoff_roles.get().pk}": 1}),
    )

    assert re.findall(r'<label for="id_approver_\d+">([^<]+)</label>', fragment) == [
        "Release Manager"
    ]
    # Picks made for one template's roles are never applied to another's.
    assert changed.status_code == 422
    assert "pick its approvers" in changed.content.decode()
    assert not Deployment.objects.filter(release_name="Autumn").exists()
