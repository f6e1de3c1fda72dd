"""Fixtures for checklist template tests (the shared users live in tests/conftest.py)."""

import pytest

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from tests.conftest import DEFAULT_TEMPLATE, SEED

SMALL_CHECKLIST = """\
# Small release

## Before (1 day before)

### Preparation

- [ ] **Announce the window** in the release channel
  - Post the time and the expected impact
- [ ] Freeze merges

## During

1. **Switch traffic** (5 min)
   - [ ] Drain the old pool
     - [ ] Wait for open requests to finish
"""

# Markup an attacker might put in a checklist: it must show as text, never run.
HOSTILE_MARKDOWN = """\
# Hostile <script>alert(1)</script>

## Phase <img src=x onerror=alert(1)>

Notes <script>alert(1)</script> and [x](javascript:alert(1)) and <img src=x onerror=alert(1)>

- [ ] **<script>alert(1)</script>** [x](javascript:alert(1))
  Details <img src=x onerror=alert(1)> and [x](javascript:alert(1))
  <script>alert(1)</script>
  - [ ] <img src=x onerror=alert(1)>

1. **<img src=x onerror=alert(1)>** (2 min)
   - [ ] <script>alert(1)</script>

## Contacts

| Role | Person | Phone | Chat |
|---|---|---|---|
| <script>alert(1)</script> | <img src=x onerror=alert(1)> | | [x](javascript:alert(1)) |

## Approval sign-off

- [ ] **<script>alert(1)</script>**: sign

## Final notes

<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>
"""


@pytest.fixture
def seed_path():
    return SEED


@pytest.fixture
def default_template_path():
    return DEFAULT_TEMPLATE


@pytest.fixture
def seed_parsed(seed_bytes):
    return parse_checklist(seed_bytes)


@pytest.fixture
def small_markdown():
    return SMALL_CHECKLIST


@pytest.fixture
def seed_revision(db, seed_bytes, admin_user):
    """The seed checklist saved as revision 1 of a template."""
    parsed = parse_checklist(seed_bytes)
    return save_template(parsed, user=admin_user, source=seed_bytes.decode("utf-8"))


@pytest.fixture
def small_revision(db, admin_user):
    return save_template(parse_checklist(SMALL_CHECKLIST), user=admin_user, source=SMALL_CHECKLIST)
