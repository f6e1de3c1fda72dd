"""Readings from monitoring systems, sent with an ingest token, one or a batch.

A monitoring feed sends the same signals again and again, and almost every
reading leaves its signal's grade where it was. Such a reading is stored
without the deployment's row lock, the audit chain or a re-render: its
signal's row is locked (one INSERT … SELECT … FOR SHARE for a single reading
on PostgreSQL; a transaction holding the signals' rows for a batch), it is
inserted, and the deployment is marked for one panel refresh within
INGEST_PANEL_REFRESH_SECONDS, which a worker does for every reading of that
time at once (re-judge, one sequence number, one broadcast). A few queries,
about a millisecond of database time (bench/ingest_flood.py).

A reading that changes a grade, is the signal's first, or is older than the
signal's latest (it can split a sustained run) takes the locked path, as
before: deployment row, then the signal, audit of the grade change in the same
transaction, re-judge, broadcast on commit. The lock order of every writer
that touches both is deployment row → signal row (services.record_reading
too), and the fast path takes the signal alone, so they cannot deadlock.

A finished deployment takes no reading, on either path, whatever the timing:
finishing locks the deployment's signals (`close_signals`, on runs.hooks.finished)
before it commits, and the fast paths read the status again once they hold their
signals (a fresh statement, so they see a finish that committed while they waited).
A reading is therefore committed before the finish or refused after it.

A batch is all or nothing: every reading is checked before any is stored,
and it is judged as of its last reading per signal, as if its readings had
arrived together.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deploychecks.audit.services import record_event
from deploychecks.core.commit import after_commit
from deploychecks.core.errors import NotAllowed
from deploychecks.core.jsonbody import BodyRefused
from deploychecks.gonogo import grading
from deploychecks.gonogo.errors import SignalError
from deploychecks.gonogo.models import DeploymentSignal, IngestToken, Reading
from deploychecks.gonogo.series import format_value, latest_value
from deploychecks.gonogo.services import (
    NOTE_MAX,
    _judge,
    broadcast_panel,
    check_observed_at,
    parse_value,
)
from deploychecks.runs.models import Deployment

logger = logging.getLogger("deploychecks.gonogo")

BATCH_MAX_READINGS = 500
# A token's last use is written at most this often (it is shown to the lead).
LAST_USED_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class IncomingReading:
    """One reading as the client sent it (checked for its shape, not its values)."""

    signal: str
    value: object
    observed_at: datetime | None = None
    note: str = ""


FIELDS = {"signal", "value", "observed_at", "note"}


def parse_reading(data, where: str = "") -> IncomingReading:
    """One reading from parsed JSON, checked for its shape (BodyRefused, 400)."""

    def refuse(message):
        raise BodyRefused(400, where + message)

    if not isinstance(data, dict):
        refuse("The body must be a JSON object." if not where else "A reading is a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        refuse("Unknown fields: " + ", ".join(map(str, unknown))[:200] + ".")
    if not isinstance(data.get("signal"), str) or not data["signal"].strip():
        refuse("“signal” must be the name of a signal.")
    if "value" not in data:
        refuse("“value” is missing.")
    note = data.get("note", "")
    if not isinstance(note, str):
        refuse("“note” must be text.")
    observed_at = data.get("observed_at")
    if observed_at is not None:
        parsed = parse_datetime(observed_at) if isinstance(observed_at, str) else None
        if parsed is None:
            refuse("“observed_at” must be an ISO 8601 date and time.")
        observed_at = parsed
    return IncomingReading(data["signal"], data["value"], observed_at, note)


def parse_batch(data) -> list[IncomingReading]:
    """{"readings": [reading, …]}: 1 to BATCH_MAX_READINGS of them (413 past it)."""
    if not isinstance(data, dict) or set(data) != {"readings"}:
        raise BodyRefused(400, 'Send {"readings": [reading, …]}.')
    items = data["readings"]
    if not isinstance(items, list) or not items:
        raise BodyRefused(400, "“readings” must be a list of at least one reading.")
    if len(items) > BATCH_MAX_READINGS:
        raise BodyRefused(
            413,
            f"A batch holds at most {BATCH_MAX_READINGS} readings; this one has "
            f"{len(items)}. Send them in several batches.",
        )
    return [parse_reading(item, f"readings[{i}]: ") for i, item in enumerate(items)]


def describe(reading: Reading) -> dict:
    """A stored reading as the ingest API answers it."""
    signal = reading.signal
    return {
        "id": reading.pk,
        "signal": signal.name,
        "value": reading.value,
        "observed_at": reading.observed_at.isoformat(),
        "grade": signal.grade,
    }


def record_token_readings(
    *,
    deployment_id: int,
    token: IngestToken,
    readings: list[IncomingReading],
    request=None,
    now: datetime | None = None,
) -> list[Reading]:
    """Store readings an ingest `token` (authenticated for this deployment) sent.

    Raises SignalError (a bad value, an unknown signal: nothing stored, the
    message names the reading of a batch) or NotAllowed (a finished
    deployment, a revoked token).
    """
    if not readings:
        raise SignalError("Send at least one reading.")
    now = now or timezone.now()
    if len(readings) == 1 and connection.vendor == "postgresql":
        stored = _record_one_fast(deployment_id, token, readings[0], now)
    else:
        stored = _record_fast(deployment_id, token, readings, now)
    if stored is None:
        stored = _record_locked(deployment_id, token, readings, request, now)
    return stored


# --- The fast path -----------------------------------------------------------------


# One statement: the signal's row share-locked until the commit (it waits for the
# locked path and for a finish, which hold it for update, and then sees the grade
# the locked path left), the grade still the one the value has, and no reading of
# the signal observed later (so this one becomes the latest).
_INSERT_IF_GRADE_HOLDS = """
INSERT INTO gonogo_reading
    (signal_id, value, observed_at, note, source, recorded_by_name, token_id, created_at)
SELECT s.id, %(value)s, %(observed_at)s, %(note)s, %(source)s, %(name)s, %(token)s, %(now)s
FROM gonogo_deploymentsignal s
WHERE s.id = %(signal)s AND s.grade = %(grade)s
  AND NOT EXISTS (
    SELECT 1 FROM gonogo_reading r
    WHERE r.signal_id = s.id AND r.observed_at > %(observed_at)s
  )
FOR SHARE OF s
RETURNING id
"""


def _record_one_fast(deployment_id, token, reading, now) -> list[Reading] | None:
    """One reading in a few round trips (signal, insert, status again, and the token before)."""
    signals = _signals(deployment_id, [reading], lock=False, with_deployment=True)
    signal = next(iter(signals.values()))
    _check_open(signal.deployment, token)
    row = _rows([reading], signals, token, now)[0]
    if not signal.grade or grading.grade(row.value, signal.thresholds) != signal.grade:
        return None
    with transaction.atomic():
        inserted = _insert_if_grade_holds(row, signal, token, now)
        if inserted is None:  # the grade moved meanwhile, or a later reading came first
            return None
        _check_still_open(deployment_id)  # raises: the insert is rolled back
    row.pk, row.created_at = inserted[0], now
    _touch(token, now)
    after_commit(lambda: request_panel_refresh(deployment_id), "panel refresh")
    return [row]


def _insert_if_grade_holds(row, signal, token, now):
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_IF_GRADE_HOLDS,
            {
                "value": row.value,
                "observed_at": row.observed_at,
                "note": row.note,
                "source": row.source,
                "name": row.recorded_by_name,
                "token": token.pk,
                "now": now,
                "signal": signal.pk,
                "grade": signal.grade,
            },
        )
        return cursor.fetchone()


@transaction.atomic
def _record_fast(deployment_id, token, readings, now) -> list[Reading] | None:
    """Store the readings if none changes a grade; None (nothing stored) otherwise."""
    signals = _signals(deployment_id, readings, lock=True, with_deployment=True)
    deployment = next(iter(signals.values())).deployment
    _check_open(deployment, token)
    _check_still_open(deployment_id)
    rows = _rows(readings, signals, token, now)
    for signal, own in _by_signal(rows).items():
        if not signal.grade:  # the first reading of this signal grades it
            return None
        previous = (
            Reading.objects.filter(signal=signal)
            .order_by("-observed_at", "-pk")
            .values_list("observed_at", flat=True)
            .first()
        )
        if previous is not None and min(r.observed_at for r in own) < previous:
            return None  # older than the latest: it may split a sustained run
        if grading.grade(_last(own).value, signal.thresholds) != signal.grade:
            return None
    created = Reading.objects.bulk_create(rows)
    _touch(token, now)
    after_commit(lambda: request_panel_refresh(deployment_id), "panel refresh")
    return created


def request_panel_refresh(deployment_id: int) -> None:
    """Have the signals panel of the deployment re-judged and broadcast soon.

    The first reading of a window schedules the refresh at its end; the
    others of that window find the key and add nothing. The key lives as long
    as the countdown, so a reading committed while the key exists is always
    seen by that refresh. Embedded (tasks run inline) refreshes at once.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        refresh_signals(deployment_id)
        return
    delay = settings.INGEST_PANEL_REFRESH_SECONDS
    now = time.monotonic()
    # This process claimed the window itself: its refresh is still to come, so
    # Redis need not be asked again until then.
    if _claimed_until.get(deployment_id, 0.0) > now:
        return
    key = f"gonogo:panel-refresh:{deployment_id}"
    claimed = cache.claim(key, delay) if hasattr(cache, "claim") else cache.add(key, 1, delay)
    if claimed:
        if len(_claimed_until) > 1000:  # forget the windows that are over
            for pk in [pk for pk, until in _claimed_until.items() if until <= now]:
                del _claimed_until[pk]
        _claimed_until[deployment_id] = now + delay
        refresh_signals_panel.apply_async((deployment_id,), countdown=delay)


# Per process: deployment id -> until when the refresh this process scheduled
# is still to run (time.monotonic()).
_claimed_until: dict[int, float] = {}


@shared_task(name="gonogo.refresh_signals_panel", ignore_result=True)
def refresh_signals_panel(deployment_id: int) -> None:
    """The worker's half of `request_panel_refresh`."""
    refresh_signals(deployment_id)


def refresh_signals(deployment_id: int) -> None:
    """Re-judge the deployment and broadcast its signals panel under a new number."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().filter(pk=deployment_id).first()
        if deployment is None:
            return
        seqs = [deployment.next_seq()]
        if not deployment.is_finished:
            seqs.extend(_judge(deployment, now=timezone.now()))
        broadcast_panel(deployment, seqs)


# --- The locked path ---------------------------------------------------------------


@transaction.atomic
def _record_locked(deployment_id, token, readings, request, now) -> list[Reading]:
    """As services.record_reading does for one: deployment row, then the signals."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _check_open(deployment, token)
    signals = _signals(deployment_id, readings, lock=True)
    rows = _rows(readings, signals, token, now)
    created = Reading.objects.bulk_create(rows)
    _touch(token, now)
    # The panel's broadcast takes a number; the first grade change audits under it.
    seqs = [deployment.next_seq()]
    spare = True
    for signal in sorted(_by_signal(rows), key=lambda s: (s.position, s.pk)):
        value = latest_value(signal)
        new_grade = grading.grade(value, signal.thresholds)
        if new_grade == signal.grade:
            continue
        before = signal.grade or "none"
        signal.grade = new_grade
        signal.save(update_fields=["grade"])
        if not spare:
            seqs.append(deployment.next_seq())
        spare = False
        record_event(
            action="signal.grade_changed",
            deployment=deployment,
            seq=seqs[-1],
            target=signal,
            target_repr=f"{signal.name}: {before} → {new_grade} ({format_value(signal, value)})",
            before={"grade": before},
            after={"grade": str(new_grade), "value": value},
            request=request,
        )
    seqs.extend(_judge(deployment, now=now, request=request))
    broadcast_panel(deployment, seqs)
    return created


# --- Shared --------------------------------------------------------------------------


def _signals(deployment_id, readings, *, lock, with_deployment=False) -> dict:
    """The deployment's signals the readings name, by lower-case name, locked in id order."""
    names = {str(r.signal).strip().lower() for r in readings}
    query = DeploymentSignal.objects.annotate(lower_name=Lower("name")).filter(
        deployment_id=deployment_id, lower_name__in=names
    )
    if with_deployment:
        query = query.select_related("deployment")
    if lock:
        query = query.select_for_update(of=("self",)).order_by("pk")
    found = {s.lower_name: s for s in query}
    for index, reading in enumerate(readings):
        if str(reading.signal).strip().lower() not in found:
            known = (
                ", ".join(
                    DeploymentSignal.objects.filter(deployment_id=deployment_id).values_list(
                        "name", flat=True
                    )
                )
                or "none"
            )
            raise SignalError(
                _where(readings, index)
                + f"Unknown signal {str(reading.signal)[:80]!r}. Known signals: {known}."
            )
    return found


def _rows(readings, signals, token, now) -> list[Reading]:
    """Unsaved Reading rows, every value checked (SignalError names the bad one)."""
    rows = []
    for index, reading in enumerate(readings):
        signal = signals[str(reading.signal).strip().lower()]
        note = (reading.note or "").strip()
        try:
            if len(note) > NOTE_MAX:
                raise SignalError(f"A note can be at most {NOTE_MAX} characters.")
            value = parse_value(reading.value, signal)
            observed_at = check_observed_at(reading.observed_at, now)
        except SignalError as exc:
            raise SignalError(_where(readings, index) + exc.message) from None
        rows.append(
            Reading(
                signal=signal,
                value=value,
                observed_at=observed_at,
                note=note,
                source=Reading.Source.INGEST,
                recorded_by_name=f"token {token.name}",
                token=token,
            )
        )
    return rows


def _where(readings, index) -> str:
    return f"readings[{index}]: " if len(readings) > 1 else ""


def _by_signal(rows) -> dict[DeploymentSignal, list[Reading]]:
    grouped: dict[DeploymentSignal, list[Reading]] = {}
    for row in rows:
        grouped.setdefault(row.signal, []).append(row)
    return grouped


def _last(rows: list[Reading]) -> Reading:
    """The one that will be latest: the newest observation, the later one of a tie
    (it gets the higher id, as `latest_value` orders)."""
    return max(enumerate(rows), key=lambda pair: (pair[1].observed_at, pair[0]))[1]


def _check_open(deployment: Deployment, token: IngestToken) -> None:
    if token.deployment_id != deployment.pk or token.revoked_at is not None:
        raise NotAllowed("This token is not valid for this deployment.")
    _refuse_if_finished(deployment)


def _check_still_open(deployment_id: int) -> None:
    """The status as committed now (a statement of its own, after the signals are held):
    a finish that committed while this request waited for them refuses it."""
    _refuse_if_finished(Deployment.objects.only("status").get(pk=deployment_id))


def _refuse_if_finished(deployment: Deployment) -> None:
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "it takes no more readings."
        )


def close_signals(change) -> None:
    """Finishing holds the deployment's signals until it commits, so a fast-path reading
    is committed before the finish or waits and is refused after it.

    Registered on runs.hooks.finished (inside the change's transaction, after the
    deployment's row lock: the locked path's order, deployment then signals).
    """
    list(
        DeploymentSignal.objects.filter(deployment=change.deployment)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _touch(token: IngestToken, now: datetime) -> None:
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        IngestToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
