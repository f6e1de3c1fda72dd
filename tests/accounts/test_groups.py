"""The global groups: managers read every deployment; admins manage templates and users."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from deploychecks.accounts.groups import ensure_groups

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_migrate_creates_the_groups_with_their_permissions():
    ensure_groups()  # idempotent; migrate already ran it

    admins = Group.objects.get(name="admins")
    codenames = set(admins.permissions.values_list("content_type__app_label", "codename"))
    assert ("checklists", "add_checklisttemplate") in codenames
    assert {("auth", "add_user"), ("auth", "change_user"), ("auth", "view_group")} <= codenames
    # Of runs, admins may only start deployments (never change one they are not on).
    assert {(app, code) for app, code in codenames if app == "runs"} == {("runs", "add_deployment")}
    engineers = Group.objects.get(name="engineers")
    assert list(engineers.permissions.values_list("content_type__app_label", "codename")) == [
        ("runs", "add_deployment")
    ]
    assert not Group.objects.get(name="managers").permissions.exists()


def test_manager_reads_every_deployment_but_changes_nothing(deployment, first_item, make_user):
    manager = make_user("mona")
    manager.groups.add(Group.objects.get(name="managers"))
    client = _client(manager)

    page = client.get(deployment.get_absolute_url())
    listing = client.get(reverse("history:list"))
    tick = client.post(
        reverse("runs:item_state", args=[deployment.pk, first_item.pk]),
        {"state": "done", "version": 1},
        HTTP_HX_REQUEST="true",
    )

    assert page.status_code == 200 and "you are manager" in page.content.decode()
    assert deployment.release_name in listing.content.decode()
    assert tick.status_code == 403


def test_admin_manages_templates_and_users_but_not_deployments(deployment, admin_user):
    admin_user.groups.add(Group.objects.get(name="admins"))
    client = _client(admin_user)

    assert client.get(reverse("checklists:import")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    assert client.get(deployment.get_absolute_url()).status_code == 404


def test_a_plain_user_cannot_import_templates_or_open_the_user_admin(outsider):
    client = _client(outsider)

    assert client.get(reverse("checklists:import")).status_code == 403
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 302
