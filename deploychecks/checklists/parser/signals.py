"""Go/no-go signals from a threshold table, or from green/yellow/red indicator lists.

    | Signal           | Green | Yellow    | Red                                    |
    | Error rate (%)   | <0.5  | 0.5–1     | >1 (rollback if sustained > 5 minutes) |
    | Data corruption  | —     | —         | yes                                    |

A table is a threshold table when its header has a "Red" column and a "Green" or
"Yellow" one. Without such a table, three list items titled "Green …", "Yellow
…" and "Red … indicators" (as in the seed) give the same cells, one bullet per
signal: "Error rate 0.5-1%: monitor closely". A cell is a comparison ("> 1",
"≤ 20 ms", ">18 of 20"), a range ("0.5–1%": the colour begins at its near end),
"yes"/"detected" (a yes/no signal, red when it happens), "maxed" (red at the
capacity named by "of N" or "/N"), or empty ("—"). The unit follows the number,
or stands in brackets after the name. The direction (is higher worse?) comes
from the comparisons. "sustained > N minutes" in the red cell, or "for > N
minutes" on a line naming the signal under a "Conditions for rollback" heading,
is the roll-back rule. Anything else is reported with its line, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deploychecks.checklists.parser.blocks import ListNode, Table
from deploychecks.checklists.parser.model import (
    SIGNAL_NAME_MAX,
    SIGNAL_UNIT_MAX,
    ImportReport,
    ParsedSignal,
)
from deploychecks.checklists.parser.text import plain

ABOVE, BELOW = "above", "below"
BOTH = "both"  # the comparisons disagree
_NUM = r"[-−]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_COMPARE_RE = re.compile(rf"^(?P<op><=|>=|=<|=>|≤|≥|<|>)\s*(?P<n>{_NUM})\s*(?P<unit>.*)$")
_RANGE_RE = re.compile(
    rf"^(?P<lo>{_NUM})\s*(?P<unit1>[^\d\s–—-][^–—-]*?)?\s*(?:-|–|—|to)\s*(?P<hi>{_NUM})\s*(?P<unit>.*)$"
)
_UNIT_RE = re.compile(r"^(%|[A-Za-zµμ°][A-Za-zµμ°/ ]{0,19}|of \d+(?:\.\d+)?)$")
_CAPACITY_OF_RE = re.compile(r"(?:\bof\b|/)\s*(?:a\s+pool\s+of\s+)?(\d+(?:\.\d+)?)")
_NONE_WORDS = {"", "—", "-", "–", "n/a", "na", "none", "no", "false", "not detected", "never"}
_YES_RE = re.compile(r"^(yes|true|detected|any|present|found|occurs|occurred|happens)$", re.I)
_MAXED_RE = re.compile(
    r"^(maxed(\s+out)?|max(imum)?|full|exhausted|saturated|at\s+(the\s+)?(limit|capacity|max))$",
    re.I,
)
_SUSTAINED_RE = re.compile(
    r"(?:sustained|for|lasting|lasts)\s*(?:over|more than|longer than|>=|>|≥)?\s*"
    r"(?P<n>\d+)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h)\b",
    re.I,
)
_TRAILING_PAREN_RE = re.compile(r"^(?P<name>.*?)\s*\((?P<paren>[^()]*)\)\s*$")
_EDGE_JUNK_RE = re.compile(r"^[^\w<>≤≥=.%/—–-]+|[^\w%.)—–-]+$")
_OPS = {"<=": "≤", "=<": "≤", ">=": "≥", "=>": "≥"}
COLOURS = ("green", "yellow", "red")
_COLOUR_WORDS = {"green": ("green",), "yellow": ("yellow", "amber", "warn"), "red": ("red",)}


@dataclass
class Cell:
    kind: str  # none, compare, range, yes, maxed, unknown
    text: str = ""
    op: str = ""
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    unit: str = ""


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _unit(text: str) -> str | None:
    """The unit after a number, '' for none, None when it is not a unit."""
    text = text.strip().strip("*_").strip()
    if text.startswith("/"):
        text = "of " + text[1:].strip()
    if not text:
        return ""
    return text if _UNIT_RE.match(text) else None


def parse_cell(text: str) -> Cell:
    text = _EDGE_JUNK_RE.sub("", plain(text)).strip()
    lowered = text.lower()
    if lowered in _NONE_WORDS:
        return Cell("none", text)
    if _YES_RE.match(lowered):
        return Cell("yes", text)
    if _MAXED_RE.match(lowered):
        return Cell("maxed", text)
    m = _COMPARE_RE.match(text)
    if m and (unit := _unit(m.group("unit"))) is not None:
        op = _OPS.get(m.group("op"), m.group("op"))
        return Cell("compare", text, op=op, value=_number(m.group("n")), unit=unit)
    m = _RANGE_RE.match(text)
    if m:
        first, unit = _unit(m.group("unit1") or ""), _unit(m.group("unit"))
        if first is not None and unit is not None and (not first or first == (unit or first)):
            low, high = sorted((_number(m.group("lo")), _number(m.group("hi"))))
            return Cell("range", text, low=low, high=high, unit=unit or first)
    return Cell("unknown", text)


def split_condition(text: str) -> tuple[str, int | None]:
    """A red cell without its notes, and the sustained minutes those notes give."""
    sustained = None
    m = _SUSTAINED_RE.search(text)
    if m:
        n = int(m.group("n"))
        sustained = n * 60 if m.group("unit").lower().startswith("h") else n
        text = text[: m.start()]
    return text.split("(", 1)[0].strip(), sustained


def sustained_in(text: str) -> int | None:
    return split_condition(text)[1]


def split_name(cell: str) -> tuple[str, str, float | None]:
    """'Error rate (%)' -> ('Error rate', '%', None); a long bracket is a description,
    which may name a capacity: '(used of a pool of 20)' -> 20."""
    name = plain(cell)
    unit, capacity = "", None
    m = _TRAILING_PAREN_RE.match(name)
    if m and m.group("name"):
        name, paren = m.group("name").strip(), m.group("paren").strip()
        if len(paren) <= 10 and _unit(paren):
            unit = _unit(paren) or ""
        cap = _CAPACITY_OF_RE.search(paren)
        capacity = float(cap.group(1)) if cap else None
    return name.rstrip(" :").strip(), unit, capacity


class SignalReader:
    """Builds ParsedSignals from table rows or indicator bullets; problems go to the report."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.signals: list[ParsedSignal] = []

    def problem(self, line: int, name: str, why: str) -> None:
        self.report.ignore(line, line + 1, f"signal “{name}”" if name else "signal", why)

    def add(self, name_cell: str, cells: dict[str, str], line: int) -> None:
        name, name_unit, capacity = split_name(name_cell)
        if not name:
            return self.problem(line, "", "the row names no signal")
        if any(s.name.casefold() == name.casefold() for s in self.signals):
            return self.problem(line, name, "a signal of this name is already defined above")
        sustained = split_condition(cells.get("red", ""))[1]
        parsed = {c: parse_cell(split_condition(t)[0]) for c, t in cells.items()}
        for colour, cell in parsed.items():
            if cell.kind == "unknown":
                return self.problem(
                    line,
                    name,
                    f"the {colour} value “{cell.text}” is not a threshold "
                    "(write “> 5 ms”, “1–5 ms”, “yes” or “—”)",
                )
        signal = self.build(name, name_unit, capacity, parsed, line)
        if isinstance(signal, str):
            return self.problem(line, name, signal)
        signal.sustained_minutes = sustained if signal.red_at is not None else None
        self.signals.append(signal)

    def build(self, name, name_unit, capacity, cells, line) -> ParsedSignal | str:
        green = cells.get("green", Cell("none"))
        yellow = cells.get("yellow", Cell("none"))
        red = cells.get("red", Cell("none"))
        if len(name) > SIGNAL_NAME_MAX:
            return f"the name is longer than {SIGNAL_NAME_MAX} characters"
        if red.kind == "yes" and yellow.kind == "none":
            return ParsedSignal(
                name, "yes/no", "boolean", ABOVE, None, True, 1.0, True, line=line + 1
            )
        if "yes" in (green.kind, yellow.kind, red.kind):
            return "“yes” only makes sense as the red value of a yes/no signal"
        units = {c.unit for c in (green, yellow, red) if c.unit}
        if len(units) > 1:
            return "its values are in different units (" + ", ".join(sorted(units)) + ")"
        unit = units.pop() if units else name_unit
        if len(unit) > SIGNAL_UNIT_MAX:
            return f"the unit is longer than {SIGNAL_UNIT_MAX} characters"
        cap = _CAPACITY_OF_RE.match(unit)
        capacity = float(cap.group(1)) if cap else capacity
        direction = _direction(green, yellow, red)
        if direction == BOTH:
            return "its comparisons point both ways (“>” on one colour, “<” on another)"
        if direction is None:
            return "it does not say whether higher or lower is worse (use “>” or “<”)"
        yellow_bound = _bound(yellow, direction, capacity)
        red_bound = _bound(red, direction, capacity)
        if isinstance(red_bound, str) or isinstance(yellow_bound, str):
            return red_bound if isinstance(red_bound, str) else yellow_bound
        if yellow_bound is None and red_bound is None:
            return "it has no yellow or red threshold"
        signal = ParsedSignal(name, unit, "number", direction, line=line + 1)
        if yellow_bound:
            signal.yellow_at, signal.yellow_inclusive = yellow_bound
        if red_bound:
            signal.red_at, signal.red_inclusive = red_bound
        return _order_problem(signal) or signal


def _direction(green: Cell, yellow: Cell, red: Cell) -> str | None:
    """Which way is worse, from the comparisons (red first), else from the ranges."""
    votes = set()
    for cell, worse_when_greater in ((red, True), (yellow, True), (green, False)):
        if cell.kind == "compare":
            greater = cell.op in (">", "≥")
            votes.add(ABOVE if greater == worse_when_greater else BELOW)
        elif cell.kind == "maxed":
            votes.add(ABOVE)
    if len(votes) == 1:
        return votes.pop()
    if votes:
        return BOTH
    if yellow.kind == "range" and red.kind == "range":
        if red.low >= yellow.high:
            return ABOVE
        if red.high <= yellow.low:
            return BELOW
    return None


def _bound(cell: Cell, direction: str, capacity: float | None):
    """(where the colour begins, inclusive?), None, or a problem."""
    if cell.kind == "none":
        return None
    if cell.kind == "compare":
        # _direction made sure every comparison points the same way.
        return cell.value, cell.op in ("≥", "≤")
    if cell.kind == "range":
        return (cell.low, True) if direction == ABOVE else (cell.high, True)
    if cell.kind == "maxed":
        if capacity is None:
            return "“maxed” needs a capacity, e.g. “> 18 of 20” or “(of 20)” after the name"
        return capacity, True
    return f"“{cell.text}” is not a threshold"


def _order_problem(signal: ParsedSignal) -> str | None:
    yellow, red = signal.yellow_at, signal.red_at
    if yellow is None or red is None:
        return None
    before = yellow < red if signal.direction == ABOVE else yellow > red
    touching = yellow == red and signal.yellow_inclusive and not signal.red_inclusive
    if before or touching:
        return None
    return "its yellow range does not begin before its red one"


# --- Where the cells come from --------------------------------------------------------


def threshold_columns(table: Table) -> dict[str, int] | None:
    header = [plain(h).lower() for h in table.header]
    columns = {}
    for colour in COLOURS:
        for i, h in enumerate(header):
            if i and any(word in h for word in _COLOUR_WORDS[colour]):
                columns[colour] = i
                break
    if "red" in columns and ("green" in columns or "yellow" in columns):
        return columns
    return None


def read_table(reader: SignalReader, table: Table, columns: dict[str, int]) -> None:
    for row, line in zip(table.rows, table.row_lines, strict=False):
        cells = {c: row[i] if i < len(row) else "" for c, i in columns.items()}
        if row and row[0].strip():
            reader.add(row[0], cells, line)


_INDICATOR_RE = re.compile(
    r"^(?P<colour>green|yellow|amber|red)\b.*\b(indicators?|flags?|lights?|signals?|thresholds?)\b",
    re.I,
)
_BULLET_CONDITION_RE = re.compile(
    rf"(?P<cond>(?:<=|>=|≤|≥|<|>)\s*{_NUM}.*|{_NUM}\s*\S*\s*(?:-|–|—|to)\s*{_NUM}.*"
    r"|\b(?:maxed(?:\s+out)?|exhausted|detected|full)\s*)$",
    re.I,
)


_COLOUR_START_RE = re.compile(r"^[*_\s]*(green|yellow|amber|red)\b", re.I)


def indicator_colour(node: ListNode) -> str | None:
    first = node.text.partition("\n")[0]
    if not _COLOUR_START_RE.match(first):
        return None
    m = _INDICATOR_RE.match(plain(first))
    if not m:
        return None
    colour = m.group("colour").lower()
    return "yellow" if colour == "amber" else colour


def bullet_condition(text: str) -> tuple[str, str] | None:
    """'Error rate 0.5-1%: monitor closely' -> ('Error rate', '0.5-1%')."""
    head = re.split(r":(?:\s|$)", plain(text.partition("\n")[0]), maxsplit=1)[0].strip()
    m = _BULLET_CONDITION_RE.search(head)
    if not m or not head[: m.start()].strip():
        return None
    return head[: m.start()].strip(), m.group("cond").strip()
