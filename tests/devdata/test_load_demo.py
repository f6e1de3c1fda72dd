"""manage.py load_demo: the demo logins, each with the rights its description gives."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_demo_leads_and_engineers_may_start_deployments_and_the_others_may_not():
    call_command("load_demo", stdout=io.StringIO())
    User = get_user_model()

    def may(username):
        return User.objects.get(username=username).has_perm("runs.add_deployment")

    assert all(may(name) for name in ("lead", "engineer", "engineer2", "admin"))
    assert not any(may(name) for name in ("viewer", "em", "devops", "pm", "qa", "manager"))
    assert User.objects.get(username="manager").groups.filter(name="managers").exists()


def test_running_it_again_changes_nothing():
    call_command("load_demo", stdout=io.StringIO())
    User = get_user_model()
    before = sorted(User.objects.values_list("username", "groups__name"))

    call_command("load_demo", stdout=io.StringIO())

    assert sorted(User.objects.values_list("username", "groups__name")) == before
