"""Grading readings and judging a deployment: pure functions, no database.

`grade(value, thresholds)` puts one value in green, yellow or red;
`verdict(series, now)` looks at every signal's readings over time and says
whether it is safe to continue, with the rule that decided it. Time is always
passed in, so the sustained-duration rules can be tested with a fixed clock.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Grade(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Level(StrEnum):
    """The overall verdict; NONE until some signal has a reading."""

    NONE = "none"
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


HEADLINES = {
    Level.NONE: "No readings yet",
    Level.GREEN: "Safe to continue",
    Level.YELLOW: "Monitor closely",
    Level.RED: "Rollback recommended",
}

ABOVE = "above"  # higher values are worse (error rate, latency)
BELOW = "below"  # lower values are worse (e.g. free disk)


@dataclass(frozen=True)
class Thresholds:
    """Where yellow and red begin. Green is everything before yellow (or red).

    `direction` says which way is worse. A bound is inclusive (≥ / ≤) or not
    (> / <): the seed's error rate is yellow from 0.5 inclusive and red above 1.
    `sustained_minutes`: red must last more than that long before it counts
    as a reason to roll back; None means red is a reason at once.
    """

    direction: str = ABOVE
    yellow: float | None = None
    yellow_inclusive: bool = True
    red: float | None = None
    red_inclusive: bool = False
    sustained_minutes: int | None = None


def _beyond(value: float, bound: float, inclusive: bool, direction: str) -> bool:
    if direction == ABOVE:
        return value >= bound if inclusive else value > bound
    return value <= bound if inclusive else value < bound


def grade(value: float, thresholds: Thresholds) -> Grade:
    """Red if past the red bound, else yellow if past the yellow bound, else green."""
    t = thresholds
    if t.red is not None and _beyond(value, t.red, t.red_inclusive, t.direction):
        return Grade.RED
    if t.yellow is not None and _beyond(value, t.yellow, t.yellow_inclusive, t.direction):
        return Grade.YELLOW
    return Grade.GREEN


def validate(thresholds: Thresholds) -> list[str]:
    """Why these thresholds make no sense (empty when they are fine)."""
    t = thresholds
    errors = []
    if t.direction not in (ABOVE, BELOW):
        errors.append(f"Unknown direction {t.direction!r}.")
        return errors
    for name, bound in (("yellow", t.yellow), ("red", t.red)):
        if bound is not None and not math.isfinite(bound):
            errors.append(f"The {name} threshold must be a finite number.")
    if errors:
        return errors
    if t.yellow is None and t.red is None:
        errors.append("Give at least a yellow or a red threshold.")
    if t.sustained_minutes is not None:
        if t.red is None:
            errors.append("A sustained-duration rule needs a red threshold.")
        if t.sustained_minutes < 1:
            errors.append("The sustained duration must be at least 1 minute.")
    if t.yellow is not None and t.red is not None:
        worse = ">" if t.direction == ABOVE else "<"
        inverted = t.yellow > t.red if t.direction == ABOVE else t.yellow < t.red
        if inverted:
            errors.append(
                f"The ranges are inverted: yellow begins at {describe_bound(t, 'yellow')}, "
                f"past red ({describe_bound(t, 'red')}). With “{worse}” as worse, yellow must "
                f"begin before red."
            )
        elif t.yellow == t.red and not (t.yellow_inclusive and not t.red_inclusive):
            errors.append(
                f"The ranges overlap: yellow ({describe_bound(t, 'yellow')}) and red "
                f"({describe_bound(t, 'red')}) leave no value that is yellow. Make red begin "
                "after yellow."
            )
    return errors


def _number(value: float) -> str:
    return f"{value:g}"


def describe_bound(t: Thresholds, level: str) -> str:
    """'≥ 0.5', '> 1', '< 20' …"""
    bound = t.yellow if level == "yellow" else t.red
    if bound is None:
        return "—"
    inclusive = t.yellow_inclusive if level == "yellow" else t.red_inclusive
    if t.direction == ABOVE:
        op = "≥" if inclusive else ">"
    else:
        op = "≤" if inclusive else "<"
    return f"{op} {_number(bound)}"


def describe_green(t: Thresholds) -> str:
    first = "yellow" if t.yellow is not None else "red"
    bound = t.yellow if t.yellow is not None else t.red
    inclusive = t.yellow_inclusive if first == "yellow" else t.red_inclusive
    if t.direction == ABOVE:
        op = "<" if inclusive else "≤"
    else:
        op = ">" if inclusive else "≥"
    return f"{op} {_number(bound)}"


@dataclass(frozen=True)
class Reading:
    observed_at: datetime
    value: float


@dataclass(frozen=True)
class Series:
    """One signal and its readings (in any order)."""

    name: str
    thresholds: Thresholds
    readings: Sequence[Reading]
    unit: str = ""
    boolean: bool = False


@dataclass(frozen=True)
class Verdict:
    level: Level
    rule: str = ""
    signal: str | None = None
    # RED: when the rule fired (for a sustained rule: when red had lasted
    # the full duration). YELLOW: since when the signal has been so.
    since: datetime | None = None

    @property
    def headline(self) -> str:
        return HEADLINES[self.level]


def _known(readings: Sequence[Reading], now: datetime) -> list[Reading]:
    # Readings stamped after `now` have not happened yet as far as `now` knows.
    return sorted((r for r in readings if r.observed_at <= now), key=lambda r: r.observed_at)


def current_run_start(
    readings: Sequence[Reading],
    thresholds: Thresholds,
    now: datetime,
) -> tuple[Grade, datetime] | None:
    """The latest grade and when its unbroken run of readings began."""
    known = _known(readings, now)
    if not known:
        return None
    current = grade(known[-1].value, thresholds)
    start = known[-1].observed_at
    for reading in reversed(known):
        if grade(reading.value, thresholds) is not current:
            break
        start = reading.observed_at
    return current, start


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def _label(series: Series) -> str:
    return series.name + (f" ({series.unit})" if series.unit and not series.boolean else "")


def _red_text(series: Series) -> str:
    if series.boolean:
        return f"{series.name}: yes"
    return f"{_label(series)} is red ({describe_bound(series.thresholds, 'red')})"


def verdict(series: Sequence[Series], now: datetime) -> Verdict:
    """GREEN, YELLOW or RED for the deployment as a whole, with the deciding rule.

    RED when some signal is red now and either has no sustained-duration rule
    or has been red, reading after reading, for more than its duration
    (measured from the first red reading of the current run to `now`).
    YELLOW when some signal is yellow, or red but not yet for long enough.
    GREEN when every signal with readings is green; NONE when none has any.
    """
    fired: list[Verdict] = []
    pending: list[tuple[datetime, Verdict]] = []
    yellow: list[Verdict] = []
    any_readings = False
    for s in series:
        run = current_run_start(s.readings, s.thresholds, now)
        if run is None:
            continue
        any_readings = True
        current, start = run
        t = s.thresholds
        if current is Grade.RED:
            if t.sustained_minutes is None:
                fired.append(Verdict(Level.RED, _red_text(s), s.name, start))
                continue
            duration = timedelta(minutes=t.sustained_minutes)
            fires_at = start + duration
            if now - start > duration:
                fired.append(
                    Verdict(
                        Level.RED,
                        f"{_red_text(s)} for more than {t.sustained_minutes} min "
                        f"(since {start:%H:%M:%S} UTC)",
                        s.name,
                        fires_at,
                    )
                )
            else:
                pending.append(
                    (
                        fires_at,
                        Verdict(
                            Level.YELLOW,
                            f"{_red_text(s)} for {_minutes(now - start)}: rollback if it "
                            f"lasts more than {t.sustained_minutes} min",
                            s.name,
                            start,
                        ),
                    )
                )
        elif current is Grade.YELLOW:
            yellow.append(
                Verdict(
                    Level.YELLOW,
                    f"{_label(s)} is yellow ({describe_bound(t, 'yellow')})",
                    s.name,
                    start,
                )
            )
    if fired:
        return min(fired, key=lambda v: v.since)
    if pending:
        return min(pending, key=lambda p: p[0])[1]
    if yellow:
        return min(yellow, key=lambda v: v.since)
    if any_readings:
        return Verdict(Level.GREEN, "Every signal is green")
    return Verdict(Level.NONE, "No signal has a reading yet")


def sparkline_points(
    values: Sequence[float], *, width: int = 120, height: int = 28, pad: float = 2.0
) -> str:
    """SVG polyline points for `values`, oldest first, scaled into the box."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = []
    for i, v in enumerate(values):
        x = pad + i * step
        y = height - pad - (v - low) / span * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)
