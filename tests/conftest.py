"""Shared fixtures. Tests run against real PostgreSQL and Redis (see Makefile).

Fixtures used by more than one area live here (or, for the real browser and
server, in the plugin below), so no test module or conftest imports a fixture.
"""

import copy
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import override_settings

from deploychecks.accounts.people import ENGINEERS_GROUP
from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.runs.services import create_deployment
from tests.gates import go_live

# uvicorn serving the test database and Debian's Chromium: for tests/browser and
# the history pages' browser tests.
pytest_plugins = ["tests.browser.fixtures", "tests.webhook_receiver"]

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seed" / "production-deployment-checklist.md"
DEFAULT_TEMPLATE = REPO / "deploychecks" / "checklists" / "default_template.md"
ARTIFACTS = REPO / "test-artifacts"


def pytest_configure(config):
    # Web, worker and beat processes started by tests write the audit witness
    # here, not into the checkout's var/ (each test's own is set below).
    witness_dir = tempfile.mkdtemp(prefix="deploychecks-test-witness-")
    os.environ["AUDIT_WITNESS_PATH"] = str(Path(witness_dir) / "audit-witness.jsonl")
    # Evidence files (deploychecks.evidence) go to a temporary folder, in this
    # process (below) and in the web processes tests start.
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="deploychecks-test-media-")


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


@contextmanager
def triggers_disabled():
    """What an attacker with table-owner rights can do: switch the audit triggers off."""
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred FK checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def purge_audit_events(transactional_db):
    """Empty the audit table after a transactional test.

    Django's flush truncates every table between transactional tests, and the
    trigger refuses to truncate a table that holds events. Requesting
    transactional_db makes this teardown run before that flush.
    """
    yield
    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


@pytest.fixture(scope="module")
def private_channel_prefix():
    """Give a module's Redis keys a prefix of its own (websocket areas ask for it).

    Test databases number deployments from 1 again, so two runs sharing one
    Redis (developers side by side, overlapping CI jobs) would otherwise share
    the group "deployment-1" and see each other's events. Everything else of
    the channel layer's configuration stays as the settings have it.
    """
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" not in config:  # the in-memory layer of embedded mode
        yield
        return
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = f"{config['prefix']}-test-{uuid.uuid4().hex[:8]}"
    with override_settings(CHANNEL_LAYERS=layers):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings):
    settings.MEDIA_ROOT = os.environ["MEDIA_ROOT"]


@pytest.fixture(autouse=True)
def _audit_witness_in_tmp(settings, tmp_path):
    # Each test its own witness file, never the checkout's var/.
    settings.AUDIT_WITNESS_PATH = tmp_path / "audit-witness.jsonl"


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


@pytest.fixture
def live_deployment(deployment, lead):
    """The default deployment, started and gone live (monitoring)."""
    return go_live(deployment, lead)
