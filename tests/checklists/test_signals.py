"""Go/no-go signals from a threshold table (or the seed's indicator lists): units and
direction parsed, anything else reported with its line, never guessed."""

import pytest

from deploychecks.checklists.parser import ParsedSignal, parse_checklist

# The values the built-in template's table states (gonogo grades them in test_grading).
DEFAULT_TABLE = [
    ParsedSignal("Error rate", "%", "number", "above", 0.5, True, 1.0, False, 5),
    ParsedSignal("p95 latency", "ms", "number", "above", 600.0, True, 1000.0, False, 10),
    ParsedSignal("Database connections", "of 20", "number", "above", 18.0, False, 20.0, True),
    ParsedSignal("Data corruption", "yes/no", "boolean", "above", None, True, 1.0, True),
]


def _fields(signal: ParsedSignal) -> tuple:
    return (
        signal.name,
        signal.unit,
        signal.kind,
        signal.direction,
        signal.yellow_at,
        signal.yellow_inclusive,
        signal.red_at,
        signal.red_inclusive,
        signal.sustained_minutes,
    )


def _table(*rows: str, header="| Signal | Green | Yellow | Red |") -> str:
    body = "\n".join(rows)
    return f"# R\n\n## Go\n\n- [ ] Ship\n\n## Thresholds\n\n{header}\n|---|---|---|---|\n{body}\n"


def _problems(parsed) -> list[tuple[int, str, str]]:
    return [(i.line, i.what, i.why) for i in parsed.report.ignored if i.what.startswith("signal")]


def test_the_default_template_table_gives_its_four_signals(default_template_path):
    parsed = parse_checklist(default_template_path.read_bytes())

    assert [_fields(s) for s in parsed.signals] == [_fields(s) for s in DEFAULT_TABLE]
    assert _problems(parsed) == []


def test_the_seed_indicator_lists_give_the_same_four_signals(seed_parsed):
    expected = [_fields(s) for s in DEFAULT_TABLE]
    expected[1] = ("P95 latency", *expected[1][1:])  # as the seed spells it

    assert [_fields(s) for s in seed_parsed.signals] == expected
    # The sustained rules come from "Conditions for Rollback": "for > 5 minutes".
    assert [s.sustained_minutes for s in seed_parsed.signals] == [5, 10, None, None]


def test_the_seed_lines_that_give_no_threshold_are_reported_not_guessed(seed_parsed):
    reported = [(line, why) for line, _, why in _problems(seed_parsed)]

    assert (320, "“Database healthy: ✅” gives no threshold") in reported
    assert (321, "“No customer complaints: ✅” gives no threshold") in reported
    assert len(reported) == 6


def test_lower_is_worse_reads_from_the_comparisons():
    parsed = parse_checklist(_table("| Free disk | > 20 GB | ≤ 20 GB | < 5 GB |"))

    (signal,) = parsed.signals
    assert _fields(signal) == ("Free disk", "GB", "number", "below", 20.0, True, 5.0, False, None)


def test_ranges_begin_at_their_near_end_in_either_direction():
    parsed = parse_checklist(
        _table(
            "| Availability (%) | ≥ 99.9 | 99 – 99.9 | < 99 |",
            "| Queue depth | 0-100 | 100 to 500 | >= 500 |",
        )
    )

    availability, queue = parsed.signals
    assert _fields(availability)[3:8] == ("below", 99.9, True, 99.0, False)
    assert availability.unit == "%"
    assert _fields(queue)[3:8] == ("above", 100.0, True, 500.0, True)


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ("| Mood | fine | meh | grim |", "the green value “fine” is not a threshold"),
        ("| Latency | < 1 s | 1-2 s | > 2000 ms |", "different units (ms, s)"),
        ("| Pool | — | > 18 | maxed |", "“maxed” needs a capacity"),
        ("| Errors | — | > 5 | > 1 |", "yellow range does not begin before its red one"),
        ("| Errors | — | > 5 | < 1 |", "point both ways"),
        ("| Errors | < 5 | — | — |", "no yellow or red threshold"),
        ("| Errors | — | 1-5 | 5-9 (rollback if sustained > 5 minutes) |", None),
    ],
    ids=["words", "mixed-units", "maxed", "inverted", "two-ways", "no-bound", "ranges-only"],
)
def test_a_row_that_cannot_be_read_is_reported_with_its_line(row, why):
    parsed = parse_checklist(_table(row))

    if why is None:
        (signal,) = parsed.signals
        assert _fields(signal)[3:] == ("above", 1.0, True, 5.0, True, 5)
    else:
        assert parsed.signals == []
        ((line, what, reason),) = _problems(parsed)
        assert line == 11 and why in reason and what.startswith("signal “")


def test_a_repeated_signal_keeps_the_first_and_reports_the_second():
    parsed = parse_checklist(_table("| Errors | — | > 1 | > 5 |", "| errors | — | > 2 | > 6 |"))

    assert [s.yellow_at for s in parsed.signals] == [1.0]
    assert "already defined" in _problems(parsed)[0][2]


def test_a_table_without_green_yellow_red_columns_is_kept_as_notes_and_reported():
    source = _table("| Error rate | 1 | 2 | 3 |", header="| Signal | Low | Mid | High |")

    parsed = parse_checklist(source)

    assert parsed.signals == []
    assert "| Error rate | 1 | 2 | 3 |" in parsed.notes[0].body
    assert any(i.what == "table" for i in parsed.report.ignored)


def test_a_threshold_table_leaves_the_heading_prose_as_a_note(default_template_path):
    parsed = parse_checklist(default_template_path.read_bytes())

    note = next(n for n in parsed.notes if n.title == "Go/no-go thresholds")
    assert note.body.startswith("Compare the live numbers")
    assert "| Signal |" not in note.body
