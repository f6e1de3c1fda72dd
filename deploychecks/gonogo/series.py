"""Reading a deployment's signals: their recent readings and the verdict they give.

Read-only; the run page's panel, the services and the record use it.
"""

from datetime import datetime
from itertools import chain

from django.db import connection
from django.utils import timezone

from deploychecks.gonogo import grading
from deploychecks.gonogo.models import DeploymentSignal, Reading
from deploychecks.runs.models import Deployment

# Readings the verdict and sparkline look at, per signal (newest first). At one
# reading every 15 s this is 50 minutes, longer than any sustained rule.
READINGS_WINDOW = 200
SPARKLINE_POINTS = 40


def latest_value(signal: DeploymentSignal) -> float:
    return (
        Reading.objects.filter(signal=signal)
        .order_by("-observed_at", "-pk")
        .values_list("value", flat=True)
        .first()
    )


def format_value(signal, value: float | None) -> str:
    if value is None:
        return "—"
    if signal.is_boolean:
        return "yes" if value else "no"
    return f"{value:g} {signal.unit}".strip()


def load_series(deployment: Deployment) -> list[tuple[DeploymentSignal, list[Reading]]]:
    """Each signal with its latest READINGS_WINDOW readings, oldest first (two queries;
    one per signal more on SQLite).

    The readings come from one UNION ALL of a LIMITed query per signal, each
    an index range scan (signal, observed_at): the cost stays that of
    READINGS_WINDOW readings per signal however many a monitoring feed has
    stored (a window function over all of them took 26 ms at 2,000 readings
    and 97 ms at 14,000, and a flood of readings made the run page slower).
    """
    signals = list(DeploymentSignal.objects.filter(deployment=deployment).order_by("position"))
    by_signal: dict[int, list[Reading]] = {s.pk: [] for s in signals}
    latest = [
        Reading.objects.filter(signal_id=s.pk).order_by("-observed_at", "-pk")[:READINGS_WINDOW]
        for s in signals
    ]
    if len(latest) > 1 and connection.features.supports_slicing_ordering_in_compound:
        readings = latest[0].union(*latest[1:], all=True)
    else:  # SQLite (make run) refuses LIMIT inside a UNION: a query per signal
        readings = chain.from_iterable(latest)
    for reading in readings:
        by_signal[reading.signal_id].append(reading)
    for rows in by_signal.values():
        rows.sort(key=lambda r: (r.observed_at, r.pk))
    return [(s, by_signal[s.pk]) for s in signals]


def as_series(signal: DeploymentSignal, readings) -> grading.Series:
    return grading.Series(
        name=signal.name,
        unit=signal.unit,
        boolean=signal.is_boolean,
        thresholds=signal.thresholds,
        readings=[grading.Reading(r.observed_at, r.value) for r in readings],
    )


def current_verdict(
    deployment: Deployment, now: datetime | None = None, series=None
) -> grading.Verdict:
    series = series if series is not None else load_series(deployment)
    return grading.verdict([as_series(s, r) for s, r in series], now or timezone.now())
