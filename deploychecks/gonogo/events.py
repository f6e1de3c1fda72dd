"""What go/no-go announces to the features above it (statuspage, webhooks).

Handlers connect in their AppConfig.ready(), as with runs.hooks; each is called
inside the transaction of the change with the deployment row locked.
"""

from dataclasses import dataclass, field

from deploychecks.runs.hooks import Event, Hook


@dataclass(frozen=True)
class VerdictChanged(Event):
    """The deployment's verdict moved from one level to another."""

    before: str = ""  # "none", "green", "yellow" or "red"
    level: str = ""
    headline: str = ""
    rule: str = ""


@dataclass(frozen=True)
class RollbackStepDone(Event):
    """A step of the rollback procedure had its last item done."""

    number: int = 0
    title: str = ""
    seconds: int = 0
    budget_minutes: int = 0
    overrun: bool = False


@dataclass(frozen=True)
class RollbackFinished(Event):
    """The rollback ended (the deployment is rolled back): its durations."""

    total_seconds: int = 0
    budget_minutes: int = 0
    decide_seconds: int | None = None
    steps: list = field(default_factory=list)


# A rollback of the deployment was started (runs.hooks.Event).
rollback_started = Hook("rollback started")
rollback_step_done = Hook("rollback step done")
rollback_finished = Hook("rollback finished")
verdict_changed = Hook("verdict changed")
