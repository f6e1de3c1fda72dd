"""Shared fixtures. Tests run against real PostgreSQL and Redis (see Makefile)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission

from deploychecks.accounts.people import ENGINEERS_GROUP
from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.runs.services import create_deployment

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seed" / "production-deployment-checklist.md"
DEFAULT_TEMPLATE = REPO / "deploychecks" / "checklists" / "default_template.md"
ARTIFACTS = REPO / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last (keeping the order otherwise).

    Playwright's sync API keeps an asyncio loop set on this thread for the rest
    of the session, and `async_to_sync` (websocket and channel-layer tests) then
    refuses to run here.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's million iterations cost ~1 s per user on this machine; tests
    # that exercise login still go through Django's real hasher machinery.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def may_start_deployments(user):
    """Put `user` in the engineers group (runs.add_deployment), as an admin would."""
    user.groups.add(Group.objects.get_or_create(name=ENGINEERS_GROUP)[0])
    return user


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def make_user(django_user_model):
    def make(username, *, password="pw-" + "x" * 12, **extra):
        return django_user_model.objects.create_user(
            username=username, password=password, email=f"{username}@example.com", **extra
        )

    return make


@pytest.fixture
def admin_user(make_user):
    user = make_user("ada", is_staff=True)
    group, _ = Group.objects.get_or_create(name="admins")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="checklists"))
    group.permissions.add(Permission.objects.get(codename="add_deployment"))
    user.groups.add(group)
    return user


@pytest.fixture
def engineer(make_user):
    return make_user("erin")


@pytest.fixture
def outsider(make_user):
    return make_user("otto")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def engineer_client(client, engineer):
    client.force_login(engineer)
    return client


# Deployments (used by tests/runs, tests/realtime and others).


@pytest.fixture
def lead(make_user):
    return make_user("lena", first_name="Lena", last_name="Lead")


@pytest.fixture
def second_engineer(make_user):
    return make_user("sam", first_name="Sam", last_name="Second")


@pytest.fixture
def viewer(make_user):
    return make_user("vic")


@pytest.fixture
def approver(make_user):
    return make_user("quinn")


@pytest.fixture
def revision(db):
    return ensure_default_template()


@pytest.fixture
def deployment(revision, lead, engineer, second_engineer, viewer, approver):
    return create_deployment(
        revision,
        user=lead,
        release_name="Spring release",
        version="2.0.0",
        previous_version="1.1.0",
        service="checkout-api",
        lead=lead,
        engineers=[engineer, second_engineer],
        approvers={approver: "QA Lead"},
        viewers=[viewer],
    )


@pytest.fixture
def first_item(deployment):
    return deployment.items.order_by("phase__position", "position").first()
