"""What going live and completing need from go/no-go: the verdict and the rollback.

`verdict_unmet` and `rollback_unmet` are pure rules (mutation-tested with their
unit tests, `make mutation`); the guard feeds them from the database and is
registered on runs.hooks.status_changing in apps.py.
"""

from deploychecks.gonogo import grading, rollback, series
from deploychecks.runs.hooks import StatusChange, Unmet

GO_LIVE = "monitoring"
COMPLETE = "completed"
ABORT = "aborted"
# What an active rollback refuses: a deployment being rolled back cannot go live,
# complete or be aborted; it ends rolled back (its last step, or "Mark rolled back").
REFUSED_DURING_ROLLBACK = (GO_LIVE, COMPLETE, ABORT)


def verdict_unmet(to: str, verdict: grading.Verdict, acknowledgement: str) -> list[Unmet]:
    """No RED verdict to go live or complete; YELLOW needs a typed acknowledgement
    to go live."""
    if to not in (GO_LIVE, COMPLETE):
        return []
    if verdict.level == grading.Level.RED:
        return [
            Unmet(
                key="verdict:red",
                kind="verdict",
                needs="a verdict that is not RED; now",
                label=f"RED: {verdict.rule}",
                anchor="gonogo-panel",
            )
        ]
    if verdict.level == grading.Level.YELLOW and to == GO_LIVE and not acknowledgement:
        return [
            Unmet(
                key="verdict:yellow",
                kind="verdict",
                needs="an acknowledgement of the verdict, typed by you:",
                label=f"YELLOW: {verdict.rule}",
                anchor="gonogo-panel",
            )
        ]
    return []


def rollback_unmet(to: str, rollback_active: bool) -> list[Unmet]:
    """An active rollback refuses every end but rolled back; it cannot be overridden."""
    if not rollback_active or to not in REFUSED_DURING_ROLLBACK:
        return []
    return [
        Unmet(
            key="rollback",
            kind="rollback",
            needs="the rollback in progress to finish:",
            label="tick its last step, or mark the deployment rolled back",
            anchor="rollback-panel",
            overridable=False,
        )
    ]


def gonogo_guard(change: StatusChange) -> list[Unmet]:
    deployment = change.deployment
    if change.to not in REFUSED_DURING_ROLLBACK:
        return []
    episode = rollback.active_episode(deployment)
    active = episode is not None and episode.is_active
    unmet = rollback_unmet(change.to, active)
    if change.to in (GO_LIVE, COMPLETE):
        verdict = series.current_verdict(deployment, change.now)
        unmet += verdict_unmet(change.to, verdict, change.acknowledgement)
    return unmet
