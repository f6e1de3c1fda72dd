"""Rollback mode: the decision, the timed procedure and its end.

Initiating a rollback opens a RollbackEpisode; every open page resyncs into
rollback mode (the rollback phase first and open, a countdown against the sum
of its step budgets). Ticking the last rollback-step item answers the item
change with a transition to rolled_back (`item_changed`), which runs applies;
`status_changed` then closes the episode and audits its durations.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.core.text import REASON_MAX
from deploychecks.gonogo import events
from deploychecks.gonogo.models import RollbackEpisode, VerdictState
from deploychecks.runs import access, hooks
from deploychecks.runs.changes import resync_on_commit
from deploychecks.runs.models import Deployment, RunItem, RunPhase, RunStep

S = Deployment.Status
# A post-rollback item with no time of its own is due this long after the rollback.
DEFAULT_FOLLOW_UP = timedelta(hours=72)
_WITHIN = re.compile(r"(?:within|in)\s+(?:\d+\s*[-–]\s*)?(\d+)\s*(hour|day)s?", re.IGNORECASE)
_BUDGET = re.compile(r"(\d+)\s*(minutes?|mins?|hours?)\b", re.IGNORECASE)
DONE_STATES = (RunItem.State.DONE, RunItem.State.NA)


def rollback_phase(deployment) -> RunPhase | None:
    return (
        RunPhase.objects.filter(deployment=deployment, is_rollback=True)
        .order_by("position")
        .first()
    )


def procedure_budget(deployment: Deployment, phase: RunPhase) -> int:
    """Minutes for the whole procedure: its stated time, else its steps added up.

    The seed states "Rollback steps (30 minutes)" while its steps add up to 31;
    the stated budget is what the team agreed to, so it wins.
    """
    steps = list(RunStep.objects.filter(phase=phase).select_related("section"))
    labels = [s.section.timing_label for s in steps if s.section_id and s.section]
    labels += [phase.timing_label, deployment.revision.rollback_time]
    stated = stated_budget(labels)
    return stated if stated is not None else sum(s.minutes or 0 for s in steps)


def stated_budget(labels) -> int | None:
    """Minutes of the first label that states a time ("30 minutes", "1 hour")."""
    for label in labels:
        match = _BUDGET.search(label or "")
        if match:
            amount = int(match.group(1))
            return amount * 60 if match.group(2).lower().startswith("h") else amount
    return None


def _resync(deployment: Deployment, kind: str) -> int:
    """Take the next sequence number and make every open page refetch its checklist."""
    seq = deployment.next_seq()
    resync_on_commit(deployment.pk, seq, kind)
    return seq


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes:02d}m {secs:02d}s"
    return f"{sign}{minutes}m {secs:02d}s"


@transaction.atomic
def start_rollback(
    *, deployment_id: int, reason: str, user, request=None, now: datetime | None = None
) -> RollbackEpisode:
    """Any engineer or the lead starts the rollback, giving a reason."""
    now = now or timezone.now()
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    role = access.role_of(user, deployment)
    if not access.can_edit(role):
        raise NotAllowed("Only the lead and engineers of this deployment can start a rollback.")
    # After the permission: someone who may not act learns nothing from the input.
    reason = (reason or "").strip()
    if not reason:
        raise RunError("Starting a rollback needs a reason.")
    if len(reason) > REASON_MAX:
        raise RunError(f"The reason is too long (at most {REASON_MAX} characters).")
    if deployment.status not in (S.IN_PROGRESS, S.MONITORING):
        raise RunError(
            f"A deployment that is {deployment.get_status_display().lower()} cannot be rolled back."
        )
    if RollbackEpisode.objects.filter(deployment=deployment).exists():
        raise RunError("A rollback of this deployment has already been started.")
    phase = rollback_phase(deployment)
    if phase is None or not phase.steps.exists():
        raise RunError("This deployment's checklist has no rollback procedure with steps.")
    budget = procedure_budget(deployment, phase)
    first_red = (
        VerdictState.objects.filter(deployment=deployment)
        .values_list("first_red_at", flat=True)
        .first()
    )
    decide = max(0, int((now - first_red).total_seconds())) if first_red else None
    episode = RollbackEpisode.objects.create(
        deployment=deployment,
        reason=reason,
        started_at=now,
        started_by=user,
        started_by_name=display_name(user),
        budget_minutes=budget,
        decide_seconds=decide,
    )
    seq = _resync(deployment, "rollback")
    decided = f"; decided {duration_text(decide)} after the first RED verdict" if decide else ""
    record_event(
        action="rollback.started",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=episode,
        target_repr=f"budget {budget} min{decided}: {reason}"[:300],
        after={"reason": reason, "budget_minutes": budget, "time_to_decide_seconds": decide},
        request=request,
    )
    events.rollback_started.send(hooks.Event(deployment=deployment, actor=user, request=request))
    return episode


def item_changed(event: hooks.ItemChanged) -> hooks.AutoTransition | None:
    """During a rollback, a change to a rollback-step item refreshes everyone's
    step timings; the last one done ends the rollback (→ rolled_back).

    Registered on runs.hooks.item_changed (inside the change's transaction).
    """
    deployment, item, user, request = event.deployment, event.item, event.actor, event.request
    if event.subcheck is not None or item.step_id is None:  # most ticks: no query at all
        return None
    episode = RollbackEpisode.objects.filter(
        deployment=deployment, completed_at__isnull=True
    ).first()
    if episode is None:
        return None
    if not RunPhase.objects.filter(pk=item.phase_id, is_rollback=True).exists():
        return None
    seq = _resync(deployment, "rollback")
    step_open = RunItem.objects.filter(step_id=item.step_id).exclude(state__in=DONE_STATES).exists()
    if item.state in DONE_STATES and not step_open:
        # The step is done: its time goes into the timeline now.
        timing = next(t for t in build_view(deployment, episode).steps if t.step.pk == item.step_id)
        over = f", over by {timing.overrun_by}" if timing.overrun else ""
        record_event(
            action="rollback.step_completed",
            actor=user,
            deployment=deployment,
            seq=seq,
            target=timing.step,
            target_repr=(
                f"{timing.step.number}. {timing.step.title}: {timing.elapsed} "
                f"of {timing.budget_minutes} min{over}"
            )[:300],
            after={
                "seconds": round(timing.elapsed_seconds),
                "budget_minutes": timing.budget_minutes,
                "overrun": timing.overrun,
            },
            request=request,
        )
        events.rollback_step_done.send(
            events.RollbackStepDone(
                deployment=deployment,
                actor=user,
                request=request,
                number=timing.step.number,
                title=timing.step.title,
                seconds=round(timing.elapsed_seconds),
                budget_minutes=timing.budget_minutes,
                overrun=timing.overrun,
            )
        )
    remaining = (
        RunItem.objects.filter(phase_id=item.phase_id, step__isnull=False)
        .exclude(state__in=DONE_STATES)
        .exists()
    )
    if remaining:
        return None
    return hooks.AutoTransition(to=S.ROLLED_BACK, reason="Every rollback step is done.")


def status_changed(change: hooks.StatusChange) -> None:
    """Rolled back: close the episode and audit its durations.

    Registered on runs.hooks.status_changed (inside the change's transaction).
    """
    if change.to != S.ROLLED_BACK:
        return
    episode = (
        RollbackEpisode.objects.select_for_update()
        .filter(deployment=change.deployment, completed_at__isnull=True)
        .first()
    )
    if episode is not None:
        _complete(change.deployment, episode, user=change.actor, request=change.request)


def _complete(deployment: Deployment, episode: RollbackEpisode, *, user, request) -> None:
    now = deployment.ended_at or timezone.now()
    episode.completed_at = max(now, episode.started_at)
    episode.save(update_fields=["completed_at"])
    view = build_view(deployment, episode, now=episode.completed_at)
    total = (episode.completed_at - episode.started_at).total_seconds()
    steps = [
        {
            "number": s.step.number,
            "title": s.step.title,
            "budget_minutes": s.budget_minutes,
            "seconds": round(s.elapsed_seconds),
            "overrun": s.overrun,
        }
        for s in view.steps
    ]
    summary = ", ".join(
        f"{s['number']}. {duration_text(s['seconds'])}" + (" (over)" if s["overrun"] else "")
        for s in steps
    )
    record_event(
        action="rollback.completed",
        actor=user,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=episode,
        target_repr=(
            f"in {duration_text(total)} of {episode.budget_minutes} min; time to decide "
            f"{duration_text(episode.decide_seconds)}; steps: {summary}"
        )[:300],
        after={
            "total_seconds": round(total),
            "budget_minutes": episode.budget_minutes,
            "time_to_decide_seconds": episode.decide_seconds,
            "steps": steps,
        },
        request=request,
    )
    events.rollback_finished.send(
        events.RollbackFinished(
            deployment=deployment,
            actor=user,
            request=request,
            total_seconds=round(total),
            budget_minutes=episode.budget_minutes,
            decide_seconds=episode.decide_seconds,
            steps=steps,
        )
    )


# --- What the run page shows -------------------------------------------------------------


@dataclass
class StepTiming:
    step: RunStep
    budget_minutes: int
    state: str  # "done", "active" or "pending"
    started_at: datetime | None
    ended_at: datetime | None
    elapsed_seconds: float

    @property
    def overrun(self) -> bool:
        return self.elapsed_seconds > self.budget_minutes * 60

    @property
    def elapsed(self) -> str:
        return duration_text(self.elapsed_seconds)

    @property
    def overrun_by(self) -> str:
        return duration_text(self.elapsed_seconds - self.budget_minutes * 60)


@dataclass
class FollowUp:
    item: RunItem
    # How long after the rollback it is due; due_at once the rollback has ended.
    due_after: timedelta
    due_at: datetime | None
    overdue: bool

    @property
    def due_after_text(self) -> str:
        hours = int(self.due_after.total_seconds() // 3600)
        return f"{hours // 24} days" if hours >= 48 and hours % 24 == 0 else f"{hours} h"


@dataclass
class RollbackView:
    episode: RollbackEpisode
    phase: RunPhase
    now: datetime
    steps: list[StepTiming] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)

    @property
    def deadline(self) -> datetime:
        return self.episode.started_at + timedelta(minutes=self.episode.budget_minutes)

    @property
    def end(self) -> datetime:
        return self.episode.completed_at or self.now

    @property
    def remaining_seconds(self) -> float:
        return (self.deadline - self.end).total_seconds()

    @property
    def remaining(self) -> str:
        return duration_text(abs(self.remaining_seconds))

    @property
    def total(self) -> str:
        return duration_text((self.end - self.episode.started_at).total_seconds())

    @property
    def decide(self) -> str:
        return duration_text(self.episode.decide_seconds)


def follow_up_due(item: RunItem, rolled_back_at: datetime) -> datetime:
    """When a post-rollback item is due: its own "within N hours/days", else 72 h."""
    text = f"{item.title} {item.summary} {item.details}"
    match = _WITHIN.search(text)
    if match is None:
        return rolled_back_at + DEFAULT_FOLLOW_UP
    amount = int(match.group(1))
    unit = timedelta(hours=1) if match.group(2).lower() == "hour" else timedelta(days=1)
    return rolled_back_at + amount * unit


def build_view(
    deployment: Deployment,
    episode: RollbackEpisode,
    *,
    now: datetime | None = None,
    phase: RunPhase | None = None,
) -> RollbackView:
    """Step timings (budget, elapsed, overrun) and follow-up due times.

    A step starts when the rollback started or the step before it finished,
    whichever is later, and ends when its last item is done.
    """
    now = now or timezone.now()
    phase = phase or rollback_phase(deployment)
    view = RollbackView(episode=episode, phase=phase, now=now)
    steps = list(RunStep.objects.filter(phase=phase).order_by("position"))
    items = list(
        RunItem.objects.filter(phase=phase)
        .order_by("position")
        .only(
            "pk",
            "step_id",
            "state",
            "changed_at",
            "title",
            "summary",
            "details",
            "section_id",
            "phase_id",
        )
    )
    start = episode.started_at
    active_found = False
    for step in steps:
        step_items = [i for i in items if i.step_id == step.pk]
        complete = bool(step_items) and all(i.state in DONE_STATES for i in step_items)
        budget = step.minutes or 0
        if complete and not active_found:
            ended = max([i.changed_at for i in step_items if i.changed_at] or [start])
            ended = max(ended, start)
            view.steps.append(
                StepTiming(step, budget, "done", start, ended, (ended - start).total_seconds())
            )
            start = ended
        elif not active_found:
            active_found = True
            end = episode.completed_at or now
            view.steps.append(
                StepTiming(
                    step, budget, "active", start, None, max(0.0, (end - start).total_seconds())
                )
            )
        else:
            view.steps.append(StepTiming(step, budget, "pending", None, None, 0.0))
    rolled_back_at = episode.completed_at
    steps_section = {s.section_id for s in steps}
    for item in items:
        if item.step_id is not None or item.section_id in steps_section:
            continue
        if item.state in DONE_STATES:
            continue
        # Only the items after the steps: the "Conditions" notes come before them.
        if steps and item.position < steps[0].position:
            continue
        after = follow_up_due(item, episode.started_at) - episode.started_at
        due = rolled_back_at + after if rolled_back_at else None
        view.follow_ups.append(FollowUp(item, after, due, bool(due and due < now)))
    return view


def active_episode(deployment: Deployment) -> RollbackEpisode | None:
    return RollbackEpisode.objects.filter(deployment=deployment).first()


def arrange_phases(phases: list[RunPhase], view: RollbackView | None) -> list[RunPhase]:
    """Rollback mode: the rollback phase first and open, the others collapsed.

    Also hangs each rollback step's timing on the step objects the template
    walks (`step.timing`).
    """
    if view is None:
        return phases
    timings = {t.step.pk: t for t in view.steps}
    for phase in phases:
        if phase.is_rollback:
            for step in phase.steps.all():
                step.timing = timings.get(step.pk)
    return sorted(phases, key=lambda p: (not p.is_rollback, p.position))
