"""Reading a deployment's signals: their recent readings and the verdict they give.

Read-only; the run page's panel, the services and the record use it.
"""

from datetime import datetime

from django.db.models import F, Window
from django.db.models.functions import RowNumber
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
    """Each signal with its latest READINGS_WINDOW readings, oldest first (two queries)."""
    signals = list(DeploymentSignal.objects.filter(deployment=deployment).order_by("position"))
    by_signal: dict[int, list[Reading]] = {s.pk: [] for s in signals}
    newest_first = Window(
        RowNumber(),
        partition_by=[F("signal_id")],
        order_by=[F("observed_at").desc(), F("pk").desc()],
    )
    readings = (
        Reading.objects.filter(signal__deployment=deployment)
        .annotate(rank=newest_first)
        .filter(rank__lte=READINGS_WINDOW)
        .order_by("observed_at", "pk")
    )
    for reading in readings:
        by_signal[reading.signal_id].append(reading)
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
