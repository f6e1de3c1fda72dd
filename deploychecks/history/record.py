"""One deployment's permanent record, assembled once for the record page and every export.

The record page and the Markdown, CSV, JSON and PDF exports all read the
structure `load_record` returns, so they cannot disagree about what happened.
It is loaded in a fixed number of queries, whatever the size of the checklist
or of the audit trail: a query-count test keeps it so.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, Q

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import GENESIS_HASH, actor_consistent, compute_hash
from deploychecks.evidence.models import Evidence
from deploychecks.gonogo.grading import describe_bound
from deploychecks.gonogo.models import DeploymentSignal, Reading, RollbackEpisode
from deploychecks.gonogo.series import format_value
from deploychecks.reminders.models import Reminder
from deploychecks.retros.models import FollowUp, RetroSection, Retrospective
from deploychecks.runs.fragments import arrange
from deploychecks.runs.models import (
    Deployment,
    DeploymentContact,
    DeploymentRole,
    GateOverride,
    ItemNote,
    Participant,
    RunItem,
    RunPhase,
    RunSection,
    RunStep,
    RunSubCheck,
)
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.snapshot import signed_state

FINISHED_STATES = (RunItem.State.DONE, RunItem.State.NA)


@dataclass
class StepRecord:
    step: RunStep
    items: list[RunItem]

    is_step = True


@dataclass
class SectionRecord:
    section: RunSection
    entries: list  # RunItem and StepRecord, in document order


@dataclass
class PhaseRecord:
    """A phase with its entries, and how long it actually took.

    The actual duration runs from the earliest to the latest `changed_at` of
    the phase's items that are done or N/A (the analytics page measures
    phases the same way). While no item is finished there is none.
    """

    phase: RunPhase
    entries: list  # before the first section: RunItem and StepRecord
    sections: list[SectionRecord]
    items: list[RunItem]  # every item of the phase, in order
    first_change: datetime.datetime | None = None
    last_change: datetime.datetime | None = None

    @property
    def duration(self) -> datetime.timedelta | None:
        if self.first_change is None:
            return None
        return self.last_change - self.first_change

    @property
    def duration_text(self) -> str:
        return format_duration(self.duration)

    @property
    def counts(self) -> dict:
        return count_states(self.items)

    @property
    def steps(self) -> list[StepRecord]:
        """The phase's steps, before its sections' and then each section's."""
        entries = [*self.entries, *(e for s in self.sections for e in s.entries)]
        return [e for e in entries if isinstance(e, StepRecord)]


@dataclass
class ChainStatus:
    """Whether this deployment's audit events are intact in the global hash chain."""

    ok: bool
    count: int
    bad_event_id: int | None = None
    reason: str = ""


@dataclass
class DeploymentRecord:
    deployment: Deployment
    participants: list[Participant]
    phases: list[PhaseRecord]
    roles: list[DeploymentRole]
    signoffs: list[SignOff]
    contacts: list[DeploymentContact]
    signals: list[DeploymentSignal]  # each with .readings_list
    reminders: list[Reminder]
    rollback: RollbackEpisode | None
    events: list[AuditEvent]  # oldest first: a record reads in the order things happened
    chain: ChainStatus
    verdict_changes: list[AuditEvent] = field(default_factory=list)
    # Status changes made past unmet gate conditions, oldest first.
    overrides: list[GateOverride] = field(default_factory=list)
    # The published retrospective (its sections_list and follow_ups_list), or None.
    retro: Retrospective | None = None

    @property
    def items(self) -> list[RunItem]:
        return [item for phase in self.phases for item in phase.items]

    @property
    def counts(self) -> dict:
        return count_states(self.items)

    @property
    def duration(self) -> datetime.timedelta | None:
        d = self.deployment
        return d.ended_at - d.started_at if d.started_at and d.ended_at else None

    @property
    def duration_text(self) -> str:
        return format_duration(self.duration)

    @property
    def na_items(self) -> list[RunItem]:
        return [i for i in self.items if i.state == RunItem.State.NA]

    @property
    def deviations(self) -> list[tuple[RunItem, ItemNote]]:
        return [
            (i, n) for i in self.items for n in i.notes_list if n.kind == ItemNote.Kind.DEVIATION
        ]

    @property
    def noted_items(self) -> list[RunItem]:
        return [i for i in self.items if i.notes_list]

    @property
    def rollback_actual(self) -> datetime.timedelta | None:
        episode = self.rollback
        if episode is None or episode.completed_at is None:
            return None
        return episode.completed_at - episode.started_at

    @property
    def rollback_actual_text(self) -> str:
        return format_duration(self.rollback_actual)

    @property
    def rollback_decide_text(self) -> str:
        seconds = self.rollback.decide_seconds if self.rollback else None
        if seconds is None:
            return "— (the verdict never went RED)"
        return format_duration(datetime.timedelta(seconds=seconds))


def count_states(items) -> dict:
    states = [i.state for i in items]
    return {
        "total": len(states),
        "done": states.count(RunItem.State.DONE),
        "na": states.count(RunItem.State.NA),
        "open": states.count(RunItem.State.OPEN),
    }


def format_duration(value: datetime.timedelta | None) -> str:
    """'2 h 05 min', '12 min 30 s', '45 s'; '—' when there is none."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def describe_change(before, after, limit: int = 240) -> str:
    """An audit event's before/after in one line: 'state: open → done; version: 1 → 2'."""
    before = before if isinstance(before, dict) else ({} if before is None else {"": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"": after})
    parts = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if key in before and key in after:
            if old == new:
                continue
            text = f"{_short(old)} → {_short(new)}"
        elif key in before:
            text = f"{_short(old)} → —"
        else:
            text = _short(new)
        parts.append(f"{key}: {text}" if key else text)
    line = "; ".join(parts)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _short(value) -> str:
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:79] + "…"


def load_events(deployment: Deployment) -> list[AuditEvent]:
    """The deployment's audit events, oldest first: a record reads in the order things happened."""
    return list(AuditEvent.objects.filter(deployment=deployment).order_by("id"))


def load_record(
    deployment: Deployment,
    *,
    events: list[AuditEvent] | None = None,
    chain: ChainStatus | None = None,
) -> DeploymentRecord:
    """Everything about `deployment` (loaded with its lead and revision), in 18 queries.

    `events` and `chain`, when the caller has them already (the record page
    checks the chain on every view), are not loaded or checked again.
    """
    items = RunItem.objects.order_by("position").prefetch_related(
        Prefetch(
            "subchecks", queryset=RunSubCheck.objects.order_by("position"), to_attr="subchecks_list"
        ),
        Prefetch(
            "notes", queryset=ItemNote.objects.order_by("created_at", "pk"), to_attr="notes_list"
        ),
        Prefetch(
            "evidence",
            queryset=Evidence.objects.order_by("created_at", "pk"),
            to_attr="evidence_list",
        ),
    )
    phases = list(
        RunPhase.objects.filter(deployment=deployment)
        .order_by("position")
        .prefetch_related("sections", "steps", Prefetch("items", queryset=items))
    )
    signals = list(
        DeploymentSignal.objects.filter(deployment=deployment)
        .order_by("position", "pk")
        .prefetch_related(
            Prefetch(
                "readings",
                queryset=Reading.objects.order_by("observed_at", "pk"),
                to_attr="readings_list",
            )
        )
    )
    for signal in signals:
        signal.yellow_text = describe_bound(signal.thresholds, "yellow")
        signal.red_text = describe_bound(signal.thresholds, "red")
        for reading in signal.readings_list:
            reading.value_text = format_value(signal, reading.value)
    reminders = list(Reminder.objects.filter(deployment=deployment).order_by("due_at", "pk"))
    # Late as the dispatcher counts it: sent more than a grace period after due.
    grace = datetime.timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS)
    for reminder in reminders:
        reminder.late_text = format_duration(reminder.late_by) if reminder.late_by else ""
        reminder.is_late = bool(reminder.late_by and reminder.late_by > grace)
    events = load_events(deployment) if events is None else events
    for event in events:
        event.change_text = describe_change(event.before, event.after)
    signoffs = list(
        SignOff.objects.filter(deployment=deployment)
        .select_related("role")
        .order_by("role__position", "created_at", "pk")
    )
    items_by_id = {item.pk: item for phase in phases for item in phase.items.all()}
    for signoff in signoffs:
        # What was approved: counts and the items still open then (None before snapshots).
        signoff.signed = signed_state(signoff.checklist_snapshot, items_by_id)
    return DeploymentRecord(
        deployment=deployment,
        participants=list(
            Participant.objects.filter(deployment=deployment)
            .select_related("user")
            .order_by("role", "user__username")
        ),
        phases=[_phase_record(phase) for phase in phases],
        roles=list(DeploymentRole.objects.filter(deployment=deployment).order_by("position")),
        signoffs=signoffs,
        contacts=list(DeploymentContact.objects.filter(deployment=deployment).order_by("position")),
        signals=signals,
        reminders=reminders,
        rollback=RollbackEpisode.objects.filter(deployment=deployment).first(),
        events=events,
        chain=verify_events(events) if chain is None else chain,
        verdict_changes=[e for e in events if e.action == "verdict.changed"],
        overrides=list(GateOverride.objects.filter(deployment=deployment).order_by("created_at")),
        retro=load_published_retro(deployment),
    )


def load_published_retro(deployment: Deployment) -> Retrospective | None:
    """The deployment's retrospective once published (one query, three when there is one)."""
    return (
        Retrospective.objects.filter(deployment=deployment, status=Retrospective.Status.PUBLISHED)
        .prefetch_related(
            Prefetch(
                "sections",
                queryset=RetroSection.objects.order_by("position"),
                to_attr="sections_list",
            ),
            Prefetch(
                "follow_ups",
                queryset=FollowUp.objects.order_by("due_date", "pk"),
                to_attr="follow_ups_list",
            ),
        )
        .first()
    )


def _phase_record(phase: RunPhase) -> PhaseRecord:
    """The phase's items under its sections and steps, in document order (as the run
    page arranges them), and the span of its finished items."""
    arrange(phase)

    def entries(container) -> list:
        return [
            StepRecord(e, e.run_items) if isinstance(e, RunStep) else e for e in container.entries
        ]

    items = list(phase.items.all())
    finished = [i.changed_at for i in items if i.state in FINISHED_STATES and i.changed_at]
    return PhaseRecord(
        phase=phase,
        entries=entries(phase),
        sections=[SectionRecord(s, entries(s)) for s in phase.sections.all()],
        items=items,
        first_change=min(finished, default=None),
        last_change=max(finished, default=None),
    )


def verify_events(events: list[AuditEvent]) -> ChainStatus:
    """Check one deployment's events against the global hash chain, without walking it.

    Each event must match its own hash, its predecessor (named by prev_hash)
    must exist at a lower id, and some later event must name it as its
    predecessor, unless it is the newest event of all. So an event that was
    altered, rewritten with a fresh hash, or whose neighbour was removed is
    found with two indexed queries, however long the chain. `manage.py verify_audit`
    still walks everything.
    """
    if not events:
        return ChainStatus(ok=True, count=0)
    hashes = {e.hash for e in events}
    wanted_prev = {e.prev_hash for e in events} - {GENESIS_HASH}
    neighbours = list(
        AuditEvent.objects.filter(Q(hash__in=wanted_prev) | Q(prev_hash__in=hashes))
        .order_by()
        .values_list("id", "hash", "prev_hash")
    )
    id_of_hash = {h: pk for pk, h, _ in neighbours}
    successor_of = {prev: pk for pk, _, prev in neighbours}
    # Asked every time (a backward scan of the primary key) so the page's
    # query count does not depend on whose event happens to be the newest.
    newest_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    for event in events:
        if compute_hash(event) != event.hash:
            return ChainStatus(
                False,
                len(events),
                event.pk,
                "its content does not match its hash (the event was altered)",
            )
        if not actor_consistent(event):
            return ChainStatus(
                False,
                len(events),
                event.pk,
                "its actor was changed (it is not the actor its hash names)",
            )
        if event.prev_hash != GENESIS_HASH and not (
            id_of_hash.get(event.prev_hash, event.pk) < event.pk
        ):
            return ChainStatus(
                False,
                len(events),
                event.pk,
                "the event before it in the chain is missing or was rewritten",
            )
        successor = successor_of.get(event.hash)
        if successor is None:
            if event.pk != newest_id:
                return ChainStatus(
                    False,
                    len(events),
                    event.pk,
                    "no later event links to it (it was rewritten, or the "
                    "event after it was removed)",
                )
        elif successor <= event.pk:
            return ChainStatus(
                False, len(events), event.pk, "the event linking to it comes before it in the chain"
            )
    return ChainStatus(ok=True, count=len(events))
