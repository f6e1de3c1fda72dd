"""The accounts seed_history makes, apart from its module-wide seeded data."""

import pytest
from django.contrib.auth import get_user_model

from deploychecks.devdata.seeding.people import ensure_people

pytestmark = pytest.mark.django_db


def test_an_existing_account_with_a_seeded_username_gains_no_group(make_user):
    existing = make_user("dana.director")  # the seeded manager's username

    ensure_people()

    assert not existing.groups.exists()
    assert (
        get_user_model().objects.get(username="irene.admin").groups.filter(name="admins").exists()
    )  # made by the seeder: it gets its group


def test_seeded_leads_and_engineers_may_start_deployments_and_nobody_else():
    people = ensure_people()
    User = get_user_model()

    def may(person):
        return User.objects.get(pk=person.pk).has_perm("runs.add_deployment")

    assert all(may(p) for p in people.leads + people.engineers)
    assert not any(may(p) for p in people.approvers + people.viewers)
    assert not may(people.manager)
    assert may(people.admin)  # admins hold it too
