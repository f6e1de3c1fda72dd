"""Go/no-go's gate rules, as pure functions (no database): the verdict and an active
rollback against going live, completing and aborting. Mutation-tested (`make mutation`)."""

import pytest

from deploychecks.gonogo.gate import rollback_unmet, verdict_unmet
from deploychecks.gonogo.grading import Level, Verdict

RED = Verdict(Level.RED, "Data corruption: yes", "Data corruption")
YELLOW = Verdict(Level.YELLOW, "Error rate (%) is yellow (≥ 0.5)", "Error rate")
GREEN = Verdict(Level.GREEN, "every signal is green")
NONE = Verdict(Level.NONE)


@pytest.mark.parametrize("to", ["monitoring", "completed"])
def test_red_refuses_going_live_and_completing(to):
    (unmet,) = verdict_unmet(to, RED, acknowledgement="I know")
    assert (unmet.key, unmet.kind, unmet.anchor) == ("verdict:red", "verdict", "gonogo-panel")
    assert unmet.label == "RED: Data corruption: yes"
    assert unmet.needs == "a verdict that is not RED; now"
    assert unmet.overridable is True


@pytest.mark.parametrize("to", ["in_progress", "aborted", "rolled_back"])
def test_the_verdict_does_not_gate_other_transitions(to):
    assert verdict_unmet(to, RED, "") == []
    assert verdict_unmet(to, YELLOW, "") == []


def test_yellow_needs_a_typed_acknowledgement_to_go_live_only():
    (unmet,) = verdict_unmet("monitoring", YELLOW, "")
    assert (unmet.key, unmet.kind, unmet.anchor) == ("verdict:yellow", "verdict", "gonogo-panel")
    assert unmet.label == "YELLOW: Error rate (%) is yellow (≥ 0.5)"
    assert unmet.needs == "an acknowledgement of the verdict, typed by you:"
    assert unmet.overridable is True
    assert verdict_unmet("monitoring", YELLOW, "Checked: a retry storm") == []
    assert verdict_unmet("completed", YELLOW, "") == []


@pytest.mark.parametrize("verdict", [GREEN, NONE])
@pytest.mark.parametrize("to", ["monitoring", "completed"])
def test_green_or_no_verdict_opens_the_gate(to, verdict):
    assert verdict_unmet(to, verdict, "") == []


@pytest.mark.parametrize("to", ["monitoring", "completed", "aborted"])
def test_an_active_rollback_refuses_every_end_but_rolled_back(to):
    (unmet,) = rollback_unmet(to, rollback_active=True)
    assert (unmet.key, unmet.kind, unmet.anchor) == ("rollback", "rollback", "rollback-panel")
    assert unmet.needs == "the rollback in progress to finish:"
    assert unmet.label == "tick its last step, or mark the deployment rolled back"
    assert unmet.overridable is False


@pytest.mark.parametrize("to", ["rolled_back", "in_progress"])
def test_a_rollback_lets_its_own_end_through(to):
    assert rollback_unmet(to, rollback_active=True) == []


@pytest.mark.parametrize("to", ["monitoring", "completed", "aborted", "rolled_back"])
def test_no_rollback_refuses_nothing(to):
    assert rollback_unmet(to, rollback_active=False) == []
