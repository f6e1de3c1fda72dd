"""Every reading and verdict change goes through here (signal definitions are in
definitions.py, ingest tokens in tokens.py).

Same shape as runs.services: check permission → lock the deployment row →
write → audit in the same transaction → broadcast after commit. Each audited
change takes its own sequence number; the broadcast sends one message per
number, all carrying the re-rendered signals panel, so open pages apply them
in order without a resync.
"""

import logging
import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.commit import after_commit
from deploychecks.core.errors import NotAllowed
from deploychecks.gonogo import events, grading, notify
from deploychecks.gonogo.errors import SignalError
from deploychecks.gonogo.models import (
    DeploymentSignal,
    Reading,
    VerdictState,
)
from deploychecks.gonogo.panel import render_panel
from deploychecks.gonogo.ranges import valid_range
from deploychecks.gonogo.series import current_verdict, format_value, latest_value
from deploychecks.realtime.broadcast import run_event, send_to_deployment
from deploychecks.runs import access, idempotency
from deploychecks.runs.models import Deployment

logger = logging.getLogger("deploychecks.gonogo")

NOTE_MAX = 500
EDITORS_ONLY = "Only the lead and engineers of this deployment can record readings."
# How far in the future a monitoring system's clock may be.
CLOCK_SKEW = timedelta(seconds=60)


# --- Readings ------------------------------------------------------------------------


def parse_value(raw, signal: DeploymentSignal) -> float:
    """A reading's value: a finite number; a yes/no signal also takes yes/no/true/false."""
    if signal.is_boolean:
        words = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}
        if isinstance(raw, bool):
            return 1.0 if raw else 0.0
        if isinstance(raw, str) and raw.strip().lower() in words:
            return words[raw.strip().lower()]
    if isinstance(raw, bool):
        raise SignalError(f"“{signal.name}” takes a number, not true/false.")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            if signal.is_boolean:
                raise SignalError(f"“{signal.name}” is yes or no (or 1 or 0).") from None
            raise SignalError(f"The value for “{signal.name}” must be a number.") from None
    if not isinstance(raw, int | float):
        raise SignalError(f"The value for “{signal.name}” must be a number.")
    try:
        value = float(raw)
    except OverflowError:  # an integer of hundreds of digits
        value = math.inf
    if not math.isfinite(value):
        raise SignalError(f"The value for “{signal.name}” must be a finite number.")
    if signal.is_boolean and value not in (0.0, 1.0):
        raise SignalError(f"“{signal.name}” is yes or no (1 or 0).")
    refusal = valid_range(signal.kind, signal.unit).refusal(value)
    if refusal:
        unit = f" {signal.unit}" if signal.unit else ""
        raise SignalError(
            f"“{signal.name}”{f' (in{unit})' if unit else ''} {refusal}: "
            f"{value:g} is not a possible reading. Check the value and send it again."
        )
    return value


def check_observed_at(observed_at: datetime | None, now: datetime) -> datetime:
    if observed_at is None:
        return now
    if timezone.is_naive(observed_at):
        raise SignalError("The observation time needs a time zone (e.g. 2025-05-01T12:00:00Z).")
    if observed_at > now + CLOCK_SKEW:
        raise SignalError("The observation time is in the future.")
    # Within the allowed skew: count it as now, so the verdict sees it at once.
    return min(observed_at, now)


@transaction.atomic
def record_reading(
    *,
    deployment_id: int,
    signal_name: str,
    value,
    observed_at=None,
    note: str = "",
    user=None,
    request=None,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> Reading:
    """Store one reading a person typed, regrade its signal and re-judge the deployment.

    `user` is an engineer or the lead (on the run page, or through the API with
    their token); monitoring systems' readings go through ingest.py. Raises SignalError
    or NotAllowed and stores nothing when anything is wrong. A person's reading
    that carries the `idempotency_key` of an earlier one (the same form posted
    again) returns that reading instead of storing a second (runs.idempotency).
    """
    now = now or timezone.now()
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise SignalError(f"A note can be at most {NOTE_MAX} characters.")
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    role = access.role_of(user, deployment) if user is not None else None
    if not access.can_edit(role):
        raise NotAllowed(EDITORS_ONLY)
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "it takes no more readings."
        )
    key = idempotency.checked_key(idempotency_key)
    reading_id = idempotency.first_result(user, key, idempotency.Kind.READING, deployment.pk)
    if reading_id is not None:
        return Reading.objects.get(pk=reading_id)
    # Locked after the deployment (the lock order of ingest.py): readings of a
    # signal and the regrading of its latest stay in order.
    signal = (
        DeploymentSignal.objects.select_for_update()
        .filter(deployment=deployment, name__iexact=str(signal_name or "").strip())
        .first()
    )
    if signal is None:
        known = ", ".join(deployment.signals.values_list("name", flat=True)) or "none"
        raise SignalError(f"Unknown signal {str(signal_name)[:80]!r}. Known signals: {known}.")
    value = parse_value(value, signal)
    observed_at = check_observed_at(observed_at, now)
    reading = Reading.objects.create(
        signal=signal,
        value=value,
        observed_at=observed_at,
        note=note,
        source=Reading.Source.MANUAL,
        recorded_by=user,
        recorded_by_name=display_name(user),
    )
    idempotency.remember(user, key, idempotency.Kind.READING, deployment, reading)
    seq = deployment.next_seq()
    seqs = [seq]
    # A person's reading is audited; a monitoring feed's only when it changes a grade.
    record_event(
        action="reading.recorded",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=signal,
        target_repr=f"{signal.name}: {format_value(signal, value)}",
        after={"value": value, "observed_at": observed_at, "note": note},
        request=request,
    )
    new_grade = grading.grade(latest_value(signal), signal.thresholds)
    if new_grade != signal.grade:
        before = signal.grade or "none"
        signal.grade = new_grade
        signal.save(update_fields=["grade"])
        seq = deployment.next_seq()  # the reading's own number is taken by its audit event
        seqs.append(seq)
        record_event(
            action="signal.grade_changed",
            actor=user,
            deployment=deployment,
            seq=seq,
            target=signal,
            target_repr=f"{signal.name}: {before} → {new_grade} ({format_value(signal, value)})",
            before={"grade": before},
            after={"grade": str(new_grade), "value": value},
            request=request,
        )
    seqs.extend(_judge(deployment, now=now, actor=user, request=request))
    broadcast_panel(deployment, seqs)
    return reading


# --- Verdict -------------------------------------------------------------------------


def _judge(deployment: Deployment, *, now: datetime, actor=None, request=None) -> list[int]:
    """Re-judge a locked deployment; audit and notify a change of verdict level.

    Returns the sequence numbers it took (none, or one for the audit event).
    """
    result = current_verdict(deployment, now)
    state, _ = VerdictState.objects.select_for_update().get_or_create(deployment=deployment)
    if state.level == result.level:
        if state.rule != result.rule[:300]:
            state.rule = result.rule[:300]
            state.save(update_fields=["rule"])
        return []
    before = state.level
    state.level, state.rule, state.changed_at = result.level, result.rule[:300], now
    if result.level == grading.Level.RED and state.first_red_at is None:
        state.first_red_at = result.since or now
    state.save()
    seq = deployment.next_seq()
    record_event(
        action="verdict.changed",
        actor=actor,
        deployment=deployment,
        seq=seq,
        target=deployment,
        target_repr=f"{result.level.upper()} — {result.headline}: {result.rule}",
        before={"level": before},
        after={"level": str(result.level), "rule": result.rule, "since": result.since},
        request=request,
    )
    events.verdict_changed.send(
        events.VerdictChanged(
            deployment=deployment,
            actor=actor,
            request=request,
            before=str(before),
            level=str(result.level),
            headline=result.headline,
            rule=result.rule,
        )
    )
    escalated = _rank(result.level) > _rank(before)
    if escalated and result.level in (grading.Level.YELLOW, grading.Level.RED):
        after_commit(lambda: notify.notify_verdict(deployment.pk, result), "verdict notice")
    return [seq]


def _rank(level: str) -> int:
    return ["none", "green", "yellow", "red"].index(level)


def judge_open_deployments(now: datetime | None = None) -> int:
    """Periodic: re-judge every running deployment with signals (a sustained rule
    can fire with no new reading). Returns how many verdicts changed."""
    now = now or timezone.now()
    changed = 0
    running = (
        Deployment.objects.filter(
            status__in=["in_progress", "monitoring"], signals__grade__in=["red", "yellow"]
        )
        .distinct()
        .values_list("pk", flat=True)
    )
    for pk in running:
        with transaction.atomic():
            deployment = Deployment.objects.select_for_update().get(pk=pk)
            seqs = _judge(deployment, now=now)
            if seqs:
                changed += 1
                broadcast_panel(deployment, seqs)
    return changed


# --- Broadcast -----------------------------------------------------------------------


def broadcast_panel(deployment: Deployment, seqs: list[int]) -> None:
    """After commit: the signals panel, once per sequence number taken.

    Rendered once in two variants (editors get the reading form). Every
    message carries the same panel, so a page applies them one by one.
    """
    if not seqs:
        return
    deployment_id = deployment.pk

    def send():
        fresh = Deployment.objects.get(pk=deployment_id)
        html_edit = render_panel(fresh, editable=True)
        html_read = render_panel(fresh, editable=False)
        allowed = access.allowed_user_ids(deployment_id)
        for seq in seqs:
            send_to_deployment(
                deployment_id,
                run_event(
                    seq=seq,
                    kind="signals",
                    allowed=allowed,
                    html_edit=html_edit,
                    html_read=html_read,
                ),
            )

    after_commit(send, f"signals panel of deployment {deployment_id}")
