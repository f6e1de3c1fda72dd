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
