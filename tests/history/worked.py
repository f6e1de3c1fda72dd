"""Helpers for the record and export tests: the small checklist and ways to work through it.

The fixtures built from them (small_revision, record_deployment, worked) are in
tests/history/conftest.py.
"""

from django.test import Client

from deploychecks.runs.models import RunItem, RunSubCheck
from deploychecks.runs.services import set_item_state
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
