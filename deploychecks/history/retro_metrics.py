"""The retrospective's metrics, computed from the deployment's record.

Every figure is read off the `DeploymentRecord` that the record page and the
exports show (`load_record`), with the record's own formatting, so the retro
page cannot disagree with the record. Connected to retros.hooks.record_metrics
in this app's ready(); the retro stores the result when it is published.

The result is plain JSON (it is frozen into the published retrospective):
    phases          per phase: planned timing label, step budget, actual duration
    overrun_steps   steps with a budget that took longer than it
    na_items        items marked N/A, with the reason
    overrides       gate overrides (status changes past unmet conditions)
    stale_signoffs  sign-offs that went stale
    verdict_changes go/no-go verdict changes
    rollback        time to decide, budget and actual duration (None without one)
    late_acks       reminders acknowledged after they had been escalated
    duration        the deployment's total duration
"""

import datetime

from deploychecks.history.record import (
    FINISHED_STATES,
    DeploymentRecord,
    PhaseRecord,
    format_duration,
    load_record,
)


def step_timings(phase: PhaseRecord, record: DeploymentRecord) -> list[dict]:
    """Each step with a budget: its actual duration and whether it overran.

    The rollback procedure's steps are the ones audited when the rollback
    completed (gonogo.rollback, in the record's audit events). For the other
    phases the same rule: a step starts when the step before it ended (the
    phase's first finished item for the first one) and ends when its last
    item is done or N/A; a step with an open item has no duration.
    """
    title = phase.phase.title
    if phase.phase.is_rollback:
        completed = [e for e in record.events if e.action == "rollback.completed"]
        steps = (completed[-1].after or {}).get("steps", []) if completed else []
        return [
            {
                "phase": title,
                "step": f"{s['number']}. {s['title']}",
                "budget_minutes": s["budget_minutes"],
                "actual": format_duration(datetime.timedelta(seconds=s["seconds"])),
                "overrun": bool(s["overrun"]),
            }
            for s in steps
            if s.get("budget_minutes")
        ]
    timings = []
    start = phase.first_change
    for entry in phase.steps:
        items = entry.items
        finished = bool(items) and all(i.state in FINISHED_STATES and i.changed_at for i in items)
        if not finished or start is None:
            start = None
            continue
        end = max(start, *(i.changed_at for i in items))
        minutes = entry.step.minutes
        if minutes:
            elapsed = end - start
            timings.append(
                {
                    "phase": title,
                    "step": f"{entry.step.number}. {entry.step.title}",
                    "budget_minutes": minutes,
                    "actual": format_duration(elapsed),
                    "overrun": elapsed > datetime.timedelta(minutes=minutes),
                }
            )
        start = end
    return timings


def metrics(record: DeploymentRecord) -> dict:
    phases, overrun = [], []
    for p in record.phases:
        budgets = [s.step.minutes for s in p.steps if s.step.minutes]
        budget = sum(budgets) if budgets else None
        phases.append(
            {
                "title": p.phase.title,
                "planned": p.phase.timing_label or "—",
                "budget": f"{budget} min" if budget else "—",
                "actual": p.duration_text,
                "over": bool(
                    budget and p.duration and p.duration > datetime.timedelta(minutes=budget)
                ),
            }
        )
        overrun += [t for t in step_timings(p, record) if t["overrun"]]
    rollback = record.rollback
    return {
        "duration": record.duration_text,
        "phases": phases,
        "overrun_steps": overrun,
        "na_items": [{"title": i.title, "reason": i.na_reason} for i in record.na_items],
        "overrides": [
            {
                "to": o.get_to_status_display(),
                "by": o.by_name,
                "reason": o.reason,
                "conditions": len(o.conditions),
            }
            for o in record.overrides
        ],
        "stale_signoffs": [
            {"role": s.role.name, "signer": s.signer_name, "reason": s.stale_reason}
            for s in record.signoffs
            if s.status == "stale"
        ],
        "verdict_changes": [
            {
                "at": e.created_at.isoformat(),
                "before": ((e.before or {}).get("level") or "none").upper(),
                "after": ((e.after or {}).get("level") or "").upper(),
            }
            for e in record.verdict_changes
        ],
        "rollback": None
        if rollback is None
        else {
            "decide": record.rollback_decide_text,
            "budget_minutes": rollback.budget_minutes,
            "actual": record.rollback_actual_text,
            "over": bool(
                record.rollback_actual
                and record.rollback_actual > datetime.timedelta(minutes=rollback.budget_minutes)
            ),
        },
        "late_acks": [
            {
                "title": r.title,
                "escalated_at": r.escalated_at.isoformat(),
                "acknowledged_at": r.acknowledged_at.isoformat(),
                "after_escalation": format_duration(r.acknowledged_at - r.escalated_at),
            }
            for r in record.reminders
            if r.acknowledged_at and r.escalated_at and r.acknowledged_at >= r.escalated_at
        ],
    }


def deployment_metrics(deployment) -> dict:
    """retros.hooks.record_metrics: the metrics of `deployment`, from its record."""
    return metrics(load_record(deployment))
