"""A small deployment worked through by the real services, for the record and export tests.

Small on purpose (a dozen items): what these tests check does not depend on
the size of the checklist, except the query-count test, which also uses the
89-item default template.
"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.utils import timezone

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.gonogo.services import record_reading
from deploychecks.runs.models import RunItem, RunSubCheck
from deploychecks.runs.services import (
    add_item_note,
    change_status,
    create_deployment,
    set_item_state,
    set_subcheck_state,
)
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.services import REAUTH_SESSION_KEY, sign_off

TEMPLATE = """# History test release

## Phase 1: Preparation (T-1 day)

- [ ] **Backup created** Full database backup
  Run `backup.sh` and keep the log.
  - [ ] Restore tested
  - [ ] Checksum recorded
- [ ] **Freeze announced** (optional)

### Database (T-1 hour)

1. **Migrate** (10 min)
   - [ ] **Run migrations**
   - [ ] **Check schema**

## Phase 2: Deploy (T+0)

- [ ] **Deploy the release**
- [ ] **Smoke tests pass**
  - [ ] Sign-in works

## Rollback procedure

1. **Revert the release** (15 min)
   - [ ] **Redeploy the previous version**

## Go/no-go criteria

| Signal | Green | Yellow | Red |
|---|---|---|---|
| Error rate (%) | <0.5 | 0.5-1 | >1 (rollback if sustained > 5 minutes) |

## Contacts and escalation

| Role | Person | Phone | Chat |
|---|---|---|---|
| DevOps lead | Dana | +1 555 0100 | @dana |

## Approval sign-off

- [ ] **QA Lead**: signature and date
- [ ] **Engineering Manager**: signature and date
"""


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def item(deployment, title) -> RunItem:
    return RunItem.objects.get(deployment=deployment, title=title)


def subcheck(deployment, title) -> RunSubCheck:
    return RunSubCheck.objects.get(item__deployment=deployment, title=title)


def signing_request(user):
    request = RequestFactory().post("/")
    request.user = user
    request.session = SessionStore()
    request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()
    request.request_id = "test"
    return request


def tick(deployment, title, user, state="done", reason=""):
    it = item(deployment, title)
    return set_item_state(
        deployment_id=deployment.pk,
        item_id=it.pk,
        state=state,
        expected_version=it.version,
        reason=reason,
        user=user,
    )


def sign(deployment, user, role_name, decision="approve", comment="") -> SignOff:
    role = deployment.signoff_roles.get(name=role_name)
    sign_off(
        deployment_id=deployment.pk,
        role_id=role.pk,
        user=user,
        decision=decision,
        comment=comment,
        request=signing_request(user),
    )
    return SignOff.objects.filter(deployment=deployment, role=role).latest("pk")


@pytest.fixture
def small_revision(db):
    return save_template(parse_checklist(TEMPLATE), source=TEMPLATE)


@pytest.fixture
def record_deployment(small_revision, lead, engineer, second_engineer, viewer, approver):
    return create_deployment(
        small_revision,
        user=lead,
        release_name="Autumn release",
        version="3.1.0",
        previous_version="3.0.2",
        service="billing-api",
        environment="production",
        lead=lead,
        engineers=[engineer, second_engineer],
        approvers={approver: "QA Lead"},
        viewers=[viewer],
    )


@pytest.fixture
def worked(record_deployment, lead, engineer, second_engineer, approver):
    """Started, partly ticked with notes, an N/A, a stale and a fresh sign-off, gone
    live with a red reading: every part of the record has something in it."""
    d = record_deployment
    change_status(deployment_id=d.pk, to="in_progress", user=lead)
    tick(d, "Backup created", engineer)
    sub = subcheck(d, "Restore tested")
    set_subcheck_state(
        deployment_id=d.pk, subcheck_id=sub.pk, done=True, expected_version=1, user=engineer
    )
    add_item_note(
        deployment_id=d.pk,
        item_id=item(d, "Backup created").pk,
        body="Backup took 40 minutes",
        user=engineer,
    )
    add_item_note(
        deployment_id=d.pk,
        item_id=item(d, "Run migrations").pk,
        kind="deviation",
        body="Ran migrations by hand: the job runner was down",
        user=second_engineer,
    )
    tick(d, "Freeze announced", second_engineer, state="na", reason="No freeze for patches")
    tick(d, "Run migrations", second_engineer)
    sign(d, approver, "QA Lead", comment="Looks good")
    tick(d, "Check schema", engineer)  # makes the QA sign-off stale
    sign(d, approver, "QA Lead", comment="Still good")
    change_status(deployment_id=d.pk, to="monitoring", user=lead)
    record_reading(
        deployment_id=d.pk,
        signal_name="Error rate",
        value=2.5,
        user=engineer,
        note="spike after deploy",
    )
    d.refresh_from_db()
    return d
