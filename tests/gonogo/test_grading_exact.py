"""Grading, pinned down exactly: which signal decides a verdict when several
could, the boundaries of the sustained rule, and the words shown to people.

These were the gaps mutation testing found (`make mutation`): the verdict's loop
must look at every signal (`continue`, not `break`), sustained red fires only
*after* its duration (`>`, not `>=`), and the verdict names its signal.
"""

from datetime import UTC, datetime, timedelta

import pytest

from deploychecks.gonogo.grading import (
    ABOVE,
    BELOW,
    Level,
    Reading,
    Series,
    Thresholds,
    current_run_start,
    describe_bound,
    describe_green,
    validate,
    verdict,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ERROR_RATE = Thresholds(direction=ABOVE, yellow=0.5, red=1, red_inclusive=False)
SUSTAINED = Thresholds(direction=ABOVE, yellow=0.5, red=1, sustained_minutes=5)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _series(name, thresholds, *values, unit="%", boolean=False, start=0.0, step=1.0):
    readings = [Reading(_at(start + n * step), v) for n, v in enumerate(values)]
    return Series(name=name, thresholds=thresholds, readings=readings, unit=unit, boolean=boolean)


# --- Which signal decides ---------------------------------------------------------------


def test_every_signal_is_looked_at_even_after_one_without_readings_or_red():
    quiet = Series(name="Quiet", thresholds=ERROR_RATE, readings=[])
    instant_red = _series("Errors", ERROR_RATE, 2.0)
    later_red = _series("Corruption", Thresholds(yellow=None, red=1), 1, unit="", boolean=True)
    result = verdict([quiet, instant_red, later_red], _at(10))
    assert result.level == Level.RED
    # Both fired; the one that fired first decides, and is named.
    assert result.signal == "Errors" and result.since == _at(0)


def test_the_earliest_red_decides_whatever_the_order_of_the_signals():
    early = _series("Early", ERROR_RATE, 2.0, start=0)
    late = _series("Late", ERROR_RATE, 2.0, start=3)
    for order in ([early, late], [late, early]):
        result = verdict(order, _at(10))
        assert (result.signal, result.since) == ("Early", _at(0))


def test_a_red_after_a_pending_sustained_red_is_still_seen():
    pending = _series("Latency", SUSTAINED, 2.0, unit="ms", start=8)
    red_now = _series("Errors", ERROR_RATE, 3.0, start=9)
    result = verdict([pending, red_now], _at(10))
    assert result.level == Level.RED and result.signal == "Errors"


def test_sustained_red_fires_only_after_its_duration():
    series = _series("Latency", SUSTAINED, 2.0, 2.0, unit="ms", start=0, step=5)
    at_five = verdict([series], _at(5))
    assert at_five.level == Level.YELLOW and at_five.signal == "Latency"
    assert at_five.since == _at(0)
    assert (
        at_five.rule == "Latency (ms) is red (> 1) for 5 min: rollback if it lasts more than 5 min"
    )
    just_after = verdict([series], _at(5) + timedelta(seconds=1))
    assert just_after.level == Level.RED and just_after.signal == "Latency"
    assert just_after.since == _at(5)
    assert just_after.rule == ("Latency (ms) is red (> 1) for more than 5 min (since 12:00:00 UTC)")


def test_of_two_pending_sustained_reds_the_one_firing_first_decides():
    sooner = _series("A", SUSTAINED, 2.0, start=1)
    later = _series("B", SUSTAINED, 2.0, start=3)
    for order in ([later, sooner], [sooner, later]):
        result = verdict(order, _at(4))
        assert result.level == Level.YELLOW and result.signal == "A"
        assert result.since == _at(1)


def test_the_earliest_yellow_decides_and_is_named():
    early = _series("Early", ERROR_RATE, 0.7, start=1)
    late = _series("Late", ERROR_RATE, 0.7, start=2)
    for order in ([late, early], [early, late]):
        result = verdict(order, _at(5))
        assert result.level == Level.YELLOW
        assert (result.signal, result.since) == ("Early", _at(1))
        assert result.rule == "Early (%) is yellow (≥ 0.5)"


def test_green_and_none_say_so():
    green = verdict([_series("Errors", ERROR_RATE, 0.1)], _at(1))
    assert (green.level, green.rule, green.signal) == (Level.GREEN, "Every signal is green", None)
    none = verdict([Series(name="Errors", thresholds=ERROR_RATE, readings=[])], _at(1))
    assert (none.level, none.rule) == (Level.NONE, "No signal has a reading yet")


def test_a_short_red_is_counted_in_seconds_then_minutes():
    series = _series("Latency", SUSTAINED, 2.0, unit="ms", start=0)
    assert verdict([series], _at(0) + timedelta(seconds=59)).rule.startswith(
        "Latency (ms) is red (> 1) for 59 s:"
    )
    assert verdict([series], _at(1)).rule.startswith("Latency (ms) is red (> 1) for 1 min:")
    assert verdict([series], _at(2.99)).rule.startswith("Latency (ms) is red (> 1) for 2 min:")


def test_the_unit_is_named_for_numbers_only():
    yes_is_red = Thresholds(red=1, red_inclusive=True)
    boolean = _series("Corruption", yes_is_red, 1, unit="yes/no", boolean=True)
    assert verdict([boolean], _at(1)).rule == "Corruption: yes"
    no_unit = _series("Queue", ERROR_RATE, 0.7, unit="")
    assert verdict([no_unit], _at(1)).rule == "Queue is yellow (≥ 0.5)"


def test_a_run_starts_at_its_first_reading_of_the_same_grade():
    readings = [Reading(_at(0), 0.1), Reading(_at(1), 2.0), Reading(_at(2), 3.0)]
    assert current_run_start(readings, ERROR_RATE, _at(5))[1] == _at(1)
    assert current_run_start(readings[:1], ERROR_RATE, _at(5))[1] == _at(0)


# --- Words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "yellow", "red", "green"),
    [
        (Thresholds(ABOVE, 0.5, True, 1, False), "≥ 0.5", "> 1", "< 0.5"),
        (Thresholds(ABOVE, 0.5, False, 1, True), "> 0.5", "≥ 1", "≤ 0.5"),
        (Thresholds(BELOW, 20, True, 10, False), "≤ 20", "< 10", "> 20"),
        (Thresholds(BELOW, 20, False, 10, True), "< 20", "≤ 10", "≥ 20"),
        (Thresholds(ABOVE, None, True, 1, False), "—", "> 1", "≤ 1"),
    ],
)
def test_bounds_are_described_as_people_read_them(thresholds, yellow, red, green):
    assert describe_bound(thresholds, "yellow") == yellow
    assert describe_bound(thresholds, "red") == red
    assert describe_green(thresholds) == green


# --- Validation -------------------------------------------------------------------------


def test_an_unknown_direction_is_named():
    assert validate(Thresholds(direction="sideways", yellow=1)) == ["Unknown direction 'sideways'."]


@pytest.mark.parametrize(
    ("name", "t"),
    [
        ("yellow", Thresholds(yellow=float("inf"), red=2)),
        ("red", Thresholds(yellow=1, red=float("nan"))),
    ],
)
def test_a_bound_must_be_finite(name, t):
    assert validate(t) == [f"The {name} threshold must be a finite number."]


def test_sustained_rules_need_red_and_a_whole_minute():
    assert validate(Thresholds(yellow=1, sustained_minutes=5)) == [
        "A sustained-duration rule needs a red threshold."
    ]
    assert validate(Thresholds(red=1, sustained_minutes=0)) == [
        "The sustained duration must be at least 1 minute."
    ]
    assert validate(Thresholds(red=1, sustained_minutes=1)) == []


@pytest.mark.parametrize(
    ("t", "message"),
    [
        (
            Thresholds(ABOVE, 2, True, 1, False),
            "The ranges are inverted: yellow begins at ≥ 2, past red (> 1). With “>” as "
            "worse, yellow must begin before red.",
        ),
        (
            Thresholds(BELOW, 10, True, 20, False),
            "The ranges are inverted: yellow begins at ≤ 10, past red (< 20). With “<” as "
            "worse, yellow must begin before red.",
        ),
        (
            Thresholds(ABOVE, 1, False, 1, False),
            "The ranges overlap: yellow (> 1) and red (> 1) leave no value that is yellow. "
            "Make red begin after yellow.",
        ),
    ],
)
def test_inverted_or_overlapping_ranges_are_explained(t, message):
    assert validate(t) == [message]


def test_touching_ranges_with_yellow_inclusive_and_red_exclusive_are_fine():
    assert validate(Thresholds(ABOVE, 1, True, 1, False)) == []
