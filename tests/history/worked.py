"""Helpers for the record and export tests: the small checklist and ways to work through it.

The fixtures built from them (small_revision, record_deployment, worked) are in
tests/history/conftest.py; tests/retros/conftest.py builds its own from the same
`save_small_template` and `start_small_deployment`.
"""

from django.test import Client

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.models import Deployment, RunItem, RunSubCheck
from deploychecks.runs.services import create_deployment, set_item_state
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.services import checklist_hash, sign_off
from tests.gates import confirmed_request

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

## Phase 2: Deploy and monitor (T+0)

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


def save_small_template():
    """The first revision of the template TEMPLATE."""
    return save_template(parse_checklist(TEMPLATE), source=TEMPLATE)


def start_small_deployment(
    revision, lead, engineer, second_engineer, viewer, approver
) -> Deployment:
    """A deployment of `revision` with one person in every role (two engineers)."""
    return create_deployment(
        revision,
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


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def item(deployment, title) -> RunItem:
    return RunItem.objects.get(deployment=deployment, title=title)


def subcheck(deployment, title) -> RunSubCheck:
    return RunSubCheck.objects.get(item__deployment=deployment, title=title)


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
        request=confirmed_request(user),
        expected_hash=checklist_hash(deployment.pk),
    )
    return SignOff.objects.filter(deployment=deployment, role=role).latest("pk")
