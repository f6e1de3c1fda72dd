"""Starting a deployment (and so leading it) takes runs.add_deployment: the engineers
group and admins hold it; viewers, approvers and managers do not."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from deploychecks.runs.models import Deployment, Participant
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db

NEW_LINK = f'href="{reverse("runs:create")}"'


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _form(revision):
    return {
        "revision": revision.pk,
        "release_name": "Autumn",
        "version": "2.1.0",
        "service": "billing",
        "environment": "production",
    }


@pytest.mark.parametrize("who", ["viewer", "approver"])
def test_a_viewer_or_approver_cannot_start_a_deployment(request, who, deployment, revision):
    user = request.getfixturevalue(who)
    client = _client(user)

    page = client.get(reverse("runs:create"))
    post = client.post(reverse("runs:create"), _form(revision))

    assert page.status_code == post.status_code == 403
    html = page.content.decode()
    assert "Starting a deployment is for engineers, leads and admins" in html
    assert f'href="{reverse("history:list")}">Back to the deployments</a>' in html
    assert not Deployment.objects.filter(release_name="Autumn").exists()


def test_a_manager_reads_everything_but_cannot_start_a_deployment(make_user, revision):
    manager = make_user("mona")
    manager.groups.add(Group.objects.get(name="managers"))

    assert _client(manager).post(reverse("runs:create"), _form(revision)).status_code == 403


def test_an_engineer_in_the_engineers_group_starts_one_and_leads_it(engineer, revision):
    client = _client(may_start_deployments(engineer))

    assert client.get(reverse("runs:create")).status_code == 200
    response = client.post(reverse("runs:create"), _form(revision))

    assert response.status_code == 302
    assert Deployment.objects.get(release_name="Autumn").lead == engineer


def test_an_admin_may_start_one(admin_user, revision):
    admin_user.groups.add(Group.objects.get(name="admins"))  # as ensure_groups set it up

    assert _client(admin_user).post(reverse("runs:create"), _form(revision)).status_code == 302


def test_the_new_deployment_link_shows_only_to_those_who_may(viewer, engineer):
    may_start_deployments(engineer)

    for_viewer = _client(viewer).get(reverse("history:list")).content.decode()
    for_engineer = _client(engineer).get(reverse("history:list")).content.decode()

    assert NEW_LINK not in for_viewer and "New deployment" not in for_viewer
    assert NEW_LINK in for_engineer and "New deployment" in for_engineer


def test_the_migration_gives_the_group_to_past_leads_and_engineers_only(
    deployment, lead, engineer, second_engineer, viewer, approver, make_user
):
    bystander = make_user("bea")
    Group.objects.filter(name="engineers").delete()
    migration = importlib.import_module("deploychecks.runs.migrations.0007_engineers_group")

    migration.give_engineers_the_group(apps, None)

    members = set(Group.objects.get(name="engineers").user_set.values_list("username", flat=True))
    assert members == {lead.username, engineer.username, second_engineer.username}
    assert Participant.objects.filter(user=approver, role="approver").exists()
    assert viewer.username not in members and bystander.username not in members
