"""A deployment with an approver for each of the four sign-off roles, plus a backup."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.utils import timezone

from deploychecks.accounts.reauth import REAUTH_SESSION_KEY
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.services import create_deployment
from deploychecks.signoffs import services
from tests.gates import go_live, ready_to_complete

PASSWORD = "pw-" + "x" * 12  # make_user's default
ROLES = ["Engineering Manager", "DevOps Lead", "Product Manager", "QA Lead"]


# Small on purpose: sign-offs do not care about the size of the checklist, and
# snapshotting the 89-item default template in every test would triple the runtime.
SMALL_TEMPLATE = """# Small release

## Phase 1: Checks

- [ ] **Backup created**
  - [ ] Restore tested
- [ ] **Smoke tests pass**

## Approval sign-off

- [ ] **Engineering Manager**: signature and date
- [ ] **DevOps Lead**: signature and date
- [ ] **Product Manager**: signature and date
- [ ] **QA Lead**: signature and date
"""


@pytest.fixture
def revision(db):
    return save_template(parse_checklist(SMALL_TEMPLATE), source=SMALL_TEMPLATE)


@pytest.fixture
def approvers(make_user, approver):
    """Role name -> its primary approver (quinn is the QA Lead)."""
    return {
        "Engineering Manager": make_user("emma", first_name="Emma", last_name="Manager"),
        "DevOps Lead": make_user("dev"),
        "Product Manager": make_user("priya"),
        "QA Lead": approver,
    }


@pytest.fixture
def backup(make_user):
    return make_user("bob", first_name="Bob", last_name="Backup")


@pytest.fixture
def deployment(revision, lead, engineer, second_engineer, viewer, approvers, backup):
    # A dict keeps insertion order: the first user named for a role is its
    # primary approver, a later one its backup.
    return create_deployment(
        revision,
        user=lead,
        release_name="Spring release",
        version="2.0.0",
        previous_version="1.1.0",
        service="checkout-api",
        lead=lead,
        engineers=[engineer, second_engineer],
        approvers={**{user: role for role, user in approvers.items()}, backup: "QA Lead"},
        viewers=[viewer],
    )


@pytest.fixture
def role(deployment):
    """role("QA Lead") -> that DeploymentRole of the deployment."""
    return lambda name: deployment.signoff_roles.get(name=name)


@pytest.fixture
def signing_request():
    """signing_request(user, reauth_age=0): a request whose session confirmed the
    password `reauth_age` seconds ago (None: never)."""

    def make(user, *, reauth_age=0):
        request = RequestFactory().post("/")
        request.user = user
        request.session = SessionStore()
        request.request_id = "test"
        if reauth_age is not None:
            request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp() - reauth_age
        return request

    return make


@pytest.fixture
def sign(deployment, role, signing_request):
    """sign(user, role name, decision="approve", comment="", **sign_off kwargs); the
    expected hash is the checklist's current one unless given."""

    def do(user, role_name, decision="approve", comment="", *, request=None, **extra):
        # As the panel's form: the hash of the checklist the page showed (now).
        extra.setdefault("expected_hash", services.checklist_hash(deployment.pk))
        return services.sign_off(
            deployment_id=deployment.pk,
            role_id=role(role_name).pk,
            user=user,
            decision=decision,
            comment=comment,
            request=request or signing_request(user),
            **extra,
        )

    return do


@pytest.fixture
def monitoring(deployment, lead):
    """The deployment, started and live, its checklist done and its monitoring
    window over: completing it waits only for the sign-offs."""
    go_live(deployment, lead)
    ready_to_complete(deployment)
    return deployment


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
