"""Property tests of the pure grading rules: thresholds and sustained durations."""

import math
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from deploychecks.checklists.parser import parse_checklist
from deploychecks.gonogo.grading import (
    ABOVE,
    BELOW,
    Grade,
    Level,
    Reading,
    Series,
    Thresholds,
    grade,
    validate,
    verdict,
)
from tests.conftest import DEFAULT_TEMPLATE

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
RANK = {Grade.GREEN: 0, Grade.YELLOW: 1, Grade.RED: 2}
finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


# The go/no-go table of the built-in template, as the importer reads it.
SIGNALS = {s.name: s for s in parse_checklist(DEFAULT_TEMPLATE.read_bytes()).signals}


def seed(name: str) -> Thresholds:
    signal = SIGNALS[name]
    return Thresholds(
        direction=signal.direction,
        yellow=signal.yellow_at,
        yellow_inclusive=signal.yellow_inclusive,
        red=signal.red_at,
        red_inclusive=signal.red_inclusive,
        sustained_minutes=signal.sustained_minutes,
    )


@st.composite
def thresholds(draw, direction=None):
    direction = direction or draw(st.sampled_from([ABOVE, BELOW]))
    a, b = draw(finite), draw(finite)
    assume(a != b)
    low, high = min(a, b), max(a, b)
    yellow, red = (low, high) if direction == ABOVE else (high, low)
    return Thresholds(
        direction=direction,
        yellow=yellow,
        red=red,
        yellow_inclusive=draw(st.booleans()),
        red_inclusive=draw(st.booleans()),
    )


def test_the_seed_table_grades_as_written():
    error, latency = seed("Error rate"), seed("p95 latency")
    db, corruption = seed("Database connections"), seed("Data corruption")
    assert [grade(v, error) for v in (0, 0.49, 0.5, 0.99, 1.0, 1.01, 7)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "yellow",
        "red",
        "red",
    ]
    assert [grade(v, latency) for v in (599, 600, 1000, 1000.5)] == [
        "green",
        "yellow",
        "yellow",
        "red",
    ]
    assert [grade(v, db) for v in (0, 18, 19, 20)] == ["green", "green", "yellow", "red"]
    assert [grade(v, corruption) for v in (0, 1)] == ["green", "red"]
    assert all(validate(seed(name)) == [] for name in SIGNALS)


@given(thresholds())
def test_a_bound_counts_exactly_as_its_inclusive_flag_says(t):
    assert validate(t) == []
    assert (grade(t.red, t) is Grade.RED) == t.red_inclusive
    assert grade(t.yellow, t) is (Grade.YELLOW if t.yellow_inclusive else Grade.GREEN)
    worse = math.inf if t.direction == ABOVE else -math.inf
    better = -worse
    assert grade(math.nextafter(t.red, worse), t) is Grade.RED
    assert grade(math.nextafter(t.yellow, better), t) is Grade.GREEN


@given(thresholds(direction=ABOVE), finite, finite)
def test_a_higher_value_never_grades_better_when_higher_is_worse(t, a, b):
    low, high = min(a, b), max(a, b)
    assert RANK[grade(low, t)] <= RANK[grade(high, t)]


@given(thresholds(direction=BELOW), finite, finite)
def test_a_lower_value_never_grades_better_when_lower_is_worse(t, a, b):
    low, high = min(a, b), max(a, b)
    assert RANK[grade(high, t)] <= RANK[grade(low, t)]


@given(thresholds(), st.booleans(), st.booleans())
def test_inverted_ranges_are_refused_with_a_clear_message(t, yi, ri):
    swapped = Thresholds(
        direction=t.direction, yellow=t.red, red=t.yellow, yellow_inclusive=yi, red_inclusive=ri
    )
    errors = validate(swapped)
    assert len(errors) == 1 and "inverted" in errors[0] and "yellow begins" in errors[0]


@given(finite, st.booleans(), st.booleans(), st.sampled_from([ABOVE, BELOW]))
def test_equal_bounds_are_refused_unless_exactly_that_value_is_yellow(v, yi, ri, direction):
    t = Thresholds(direction=direction, yellow=v, red=v, yellow_inclusive=yi, red_inclusive=ri)
    errors = validate(t)
    if yi and not ri:
        assert errors == [] and grade(v, t) is Grade.YELLOW
    else:
        assert len(errors) == 1 and "overlap" in errors[0]


def test_other_nonsense_is_refused():
    assert validate(Thresholds()) == ["Give at least a yellow or a red threshold."]
    assert "needs a red threshold" in validate(Thresholds(yellow=1, sustained_minutes=5))[0]
    assert "finite" in validate(Thresholds(red=math.nan))[0]


def _series(thresholds, points, name="Error rate"):
    signal = SIGNALS[name]
    return Series(
        name=name,
        unit=signal.unit,
        boolean=signal.kind == "boolean",
        thresholds=thresholds,
        readings=[Reading(T0 + timedelta(seconds=s), v) for s, v in points],
    )


@given(minutes=st.integers(1, 60), elapsed=st.integers(0, 7200), step=st.integers(5, 300))
def test_sustained_red_means_rollback_only_after_more_than_n_minutes(minutes, elapsed, step):
    t = Thresholds(yellow=0.5, red=1, sustained_minutes=minutes)
    points = [(s, 2.0) for s in range(0, elapsed + 1, step)]
    now = T0 + timedelta(seconds=elapsed)
    result = verdict([_series(t, points)], now)
    if elapsed > minutes * 60:
        assert result.level is Level.RED and result.headline == "Rollback recommended"
        assert f"for more than {minutes} min" in result.rule
        assert result.since == T0 + timedelta(minutes=minutes)
    else:
        assert result.level is Level.YELLOW and result.headline == "Monitor closely"
        assert f"rollback if it lasts more than {minutes} min" in result.rule


@given(minutes=st.integers(1, 30), gap_at=st.integers(1, 3000), extra=st.integers(0, 3000))
def test_one_non_red_reading_restarts_the_sustained_clock(minutes, gap_at, extra):
    t = Thresholds(yellow=0.5, red=1, sustained_minutes=minutes)
    points = [(0, 2.0), (gap_at, 0.7), (gap_at + 1, 2.0)]
    now = T0 + timedelta(seconds=gap_at + 1 + extra)
    result = verdict([_series(t, points)], now)
    assert (result.level is Level.RED) == (extra > minutes * 60)


@given(st.integers(1, 3600))
def test_red_without_a_duration_rule_is_rollback_at_once(after):
    t = seed("Data corruption")
    now = T0 + timedelta(seconds=after)
    result = verdict([_series(t, [(0, 1.0)], name="Data corruption")], now)
    assert result.level is Level.RED and result.rule == "Data corruption: yes"
    assert result.since == T0


@given(st.integers(1, 10_000))
def test_readings_after_now_do_not_count_yet(ahead):
    t = seed("Error rate")
    result = verdict([_series(t, [(0, 0.1), (ahead, 5.0)])], T0)
    assert result.level is Level.GREEN


def test_the_worst_signal_decides_and_no_readings_is_no_verdict():
    error, latency = seed("Error rate"), seed("p95 latency")
    now = T0 + timedelta(minutes=1)
    assert verdict([_series(error, [])], now).level is Level.NONE
    both = [_series(error, [(0, 0.2)]), _series(latency, [(0, 700)], name="p95 latency")]
    result = verdict(both, now)
    assert result.level is Level.YELLOW and "p95 latency (ms) is yellow (≥ 600)" in result.rule
    assert verdict([_series(error, [(0, 0.2)])], now).level is Level.GREEN
