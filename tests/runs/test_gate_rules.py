"""The checklist's own gate rules, as pure functions (no database): what going live
and completing need from the items and the monitoring window, and how a template's
words place its phases. Mutation-tested (`make mutation`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deploychecks.checklists.stages import infer_stages, monitoring_hours, stated_hours
from deploychecks.runs.gates import (
    ContactState,
    ItemState,
    contacts_unmet,
    items_unmet,
    window_unmet,
)
from deploychecks.runs.hooks import Unmet

NOW = timezone.now()


def _items(*rows):
    return [ItemState(pk, f"Item {pk}", stage, state) for pk, stage, state in rows]


def test_going_live_needs_the_open_items_before_go_live_only():
    items = _items(
        (1, "before", "open"),
        (2, "before", "done"),
        (3, "before", "na"),
        (4, "after", "open"),
        (5, "rollback", "open"),
    )
    assert items_unmet("monitoring", items) == [
        Unmet(
            key="item:1",
            kind="items",
            needs="every item before go-live done or N/A; open:",
            label="Item 1",
            anchor="item-1",
            overridable=True,
        )
    ]


def test_completing_needs_every_item_but_the_rollback_procedures():
    items = _items(
        (1, "before", "open"), (2, "after", "open"), (3, "after", "na"), (4, "rollback", "open")
    )
    unmet = items_unmet("completed", items)
    assert [u.key for u in unmet] == ["item:1", "item:2"]
    assert {(u.kind, u.needs) for u in unmet} == {("items", "every item done or N/A; open:")}


@pytest.mark.parametrize("to", ["in_progress", "aborted", "rolled_back"])
def test_other_transitions_need_no_item(to):
    assert items_unmet(to, _items((1, "before", "open"), (2, "after", "open"))) == []


def test_completing_waits_for_the_monitoring_window():
    live = NOW - timedelta(hours=71, minutes=59)
    ends = live + timedelta(hours=72)
    assert window_unmet("completed", live, 72, NOW) == [
        Unmet(
            key="window",
            kind="window",
            needs="the monitoring window to end:",
            label=f"72 h after go-live, at {ends:%Y-%m-%d %H:%M} UTC",
            anchor="run-header",
            overridable=True,
        )
    ]
    assert window_unmet("completed", NOW - timedelta(hours=72), 72, NOW) == []
    assert window_unmet("completed", live, None, NOW) == []  # the template states none
    assert window_unmet("monitoring", live, 72, NOW) == []
    assert window_unmet("completed", None, 72, NOW) == []


@pytest.mark.parametrize("to", ["in_progress", "completed", "rolled_back", "aborted"])
def test_only_going_live_asks_for_the_contacts(to):
    assert contacts_unmet(to, [ContactState(1, "Deployment lead", False)]) == []


def test_going_live_needs_every_contact_not_filled_in():
    contacts = [
        ContactState(1, "Deployment lead", False),
        ContactState(2, "Backend lead", True),
        ContactState(3, "Executive sponsor", False),
    ]
    assert contacts_unmet("monitoring", contacts) == [
        Unmet(
            key=f"contact:{pk}",
            kind="contacts",
            needs="every contact filled in (or waived); not filled in:",
            label=role,
            anchor="run-contacts",
            overridable=True,
        )
        for pk, role in ((1, "Deployment lead"), (3, "Executive sponsor"))
    ]


def test_stages_and_window_are_read_from_the_templates_words():
    seed = [
        ("Phase 1: Pre-Deployment Verification", "48 hours before"),
        ("Phase 2: Deployment Execution", "Day 1 - 4-6 hour window"),
        ("Phase 3: Post-Deployment Validation", "Immediately after"),
        ("Phase 4: Stabilization Period", "First 24 hours"),
        ("Phase 5: Extended Monitoring", "72 hours"),
        ("Rollback Procedure", "If Needed"),
    ]
    stages = infer_stages(seed)
    assert stages == ["before", "before", "after", "after", "after", "rollback"]
    assert monitoring_hours(seed, stages) == 72
    # Once after go-live, later phases stay after it; a rollback phase is always one.
    assert infer_stages([("Monitor", ""), ("Cleanup", ""), ("Roll back", "")]) == [
        "after",
        "after",
        "rollback",
    ]
    assert stated_hours("Day 3 Monitoring (48-72 hours)") == 72
    assert stated_hours("3 days") == 72
    assert stated_hours("soon") is None
