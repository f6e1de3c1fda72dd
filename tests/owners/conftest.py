"""A small template with owners and due times, and a deployment of it."""

import pytest

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.services import create_deployment

OWNED_TEMPLATE = """# Owned release

## Phase 1: Prepare (48 hours before)

### Backend @backend-lead

- [ ] **Backups verified** @erin (due 2h after window start)
- [ ] **Migrations reviewed**
- [ ] **Canary healthy** @qa-lead (due 30m after window start)

## Phase 2: Watch (after go-live)

- [ ] **Dashboards green** @lead (due 1h after phase start)
- [ ] **Error rate normal** (due 1d after go-live)

## Approval sign-off

- [ ] **QA Lead**: signature and date
- [ ] **Backend Lead**: signature and date
"""


@pytest.fixture(autouse=True)
def _real_time(settings):
    settings.REMINDER_TIME_SCALE = 1.0
    settings.REMINDER_WEBHOOK_URL = ""
    settings.REMINDER_ESCALATE_MINUTES = 0


@pytest.fixture
def owned_revision(db, lead):
    return save_template(parse_checklist(OWNED_TEMPLATE), user=lead)


@pytest.fixture
def owned(owned_revision, lead, engineer, second_engineer, viewer, approver):
    """Erin and Sam engineers, Quinn the QA Lead's approver, Vic a viewer."""
    return create_deployment(
        owned_revision,
        user=lead,
        release_name="Owned",
        version="1.0",
        service="owned-api",
        lead=lead,
        engineers=[engineer, second_engineer],
        approvers={approver: "QA Lead"},
        viewers=[viewer],
    )


def item(deployment, title):
    return deployment.items.get(title=title)
