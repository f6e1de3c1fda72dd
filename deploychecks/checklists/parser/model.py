"""What the importer produces: plain dataclasses, no database.

`checklists.services.save_template` stores a ParsedTemplate; `load_parsed` rebuilds
one from a stored revision, and the exporter writes one back to Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deploychecks.checklists.parser.text import contact_is_filled_in, describe_due

MAX_BYTES = 1_000_000
# The longest text each field can hold: the max_length of its database column
# (checklists/models.py; a test keeps the two in step). Checking here turns an
# overlong line into a parse error with its line number, instead of a database
# error when saving.
MAX_LENGTHS = {
    "phase title": 300,
    "section title": 300,
    "step title": 300,
    "timing label": 120,
    "item title": 500,
    "item summary": 500,
    "sub-check": 500,
    "sign-off role": 120,
    "contact role": 120,
    "contact person": 200,
    "contact phone": 60,
    "contact chat handle": 120,
    "note title": 300,
}
# gonogo.models.SignalFields: a longer name or unit is reported, not imported.
SIGNAL_NAME_MAX = 80
SIGNAL_UNIT_MAX = 40
MAX_STEP_MINUTES = 2_147_483_647


class ChecklistParseError(ValueError):
    """Bad input. `line` is 1-based, or None when the problem is the whole file."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class ParsedSubCheck:
    title: str
    line: int = 0


@dataclass
class ParsedItem:
    title: str
    summary: str = ""
    details: str = ""
    required: bool = True
    subchecks: list[ParsedSubCheck] = field(default_factory=list)
    line: int = 0
    # The key named in the Markdown (`<!-- key: … -->`), else "" (parser.keys).
    key: str = ""
    # Trailing `@owner` tokens and `(due …)` (parser.owners).
    owners: list[str] = field(default_factory=list)
    due_minutes: int | None = None
    due_anchor: str = ""
    # `(evidence required)` on its line (parser.text.split_evidence_marker).
    evidence_required: bool = False

    @property
    def due_text(self) -> str:
        return describe_due(self.due_minutes, self.due_anchor) if self.due_anchor else ""


@dataclass
class ParsedStep:
    number: int
    title: str
    minutes: int | None = None
    notes: str = ""
    items: list[ParsedItem] = field(default_factory=list)
    line: int = 0


@dataclass
class ParsedSection:
    title: str
    timing_label: str = ""
    notes: str = ""
    # Items and steps in document order.
    entries: list[ParsedItem | ParsedStep] = field(default_factory=list)
    line: int = 0
    # Trailing `@owner` tokens of a section heading (parser.owners); a phase has none.
    owners: list[str] = field(default_factory=list)

    def item_count(self) -> int:
        """Items here, those inside steps included (the outline's counts)."""
        return sum(len(e.items) if isinstance(e, ParsedStep) else 1 for e in self.entries)


@dataclass
class ParsedPhase(ParsedSection):
    sections: list[ParsedSection] = field(default_factory=list)

    def total_items(self) -> int:
        return self.item_count() + sum(s.item_count() for s in self.sections)


@dataclass
class ParsedContact:
    role: str
    person: str = ""
    phone: str = ""
    handle: str = ""
    # False for a row of placeholders ("[Name]", "@name", "TBD") or with nothing to
    # reach anyone by. None means "work it out from the values" (text.py).
    filled_in: bool | None = None

    def __post_init__(self):
        if self.filled_in is None:
            self.filled_in = contact_is_filled_in(self.person, self.phone, self.handle)


@dataclass
class ParsedSignal:
    """A go/no-go signal as written in a threshold table (gonogo.models.SignalFields).

    `direction` is "above" (higher is worse) or "below"; a bound is where yellow or
    red begins, inclusive (≥ / ≤) or not (> / <).
    """

    name: str
    unit: str = ""
    kind: str = "number"
    direction: str = "above"
    yellow_at: float | None = None
    yellow_inclusive: bool = True
    red_at: float | None = None
    red_inclusive: bool = False
    sustained_minutes: int | None = None
    line: int = 0


@dataclass
class ParsedNote:
    title: str
    body: str
    before_phases: bool = False


@dataclass
class Ignored:
    """Source lines that did not become part of the checklist, and why (for the preview)."""

    line: int
    end_line: int
    what: str
    why: str


@dataclass
class ImportReport:
    """How the file was read: shown in the preview, never stored."""

    encoding: str = "text"
    repaired_mojibake: int = 0
    ignored: list[Ignored] = field(default_factory=list)

    def ignore(self, start: int, end: int, what: str, why: str) -> None:
        """Record 0-based source lines [start, end) as ignored."""
        self.ignored.append(Ignored(start + 1, max(end, start + 1), what, why))


@dataclass
class ParsedTemplate:
    name: str
    description: str = ""
    phases: list[ParsedPhase] = field(default_factory=list)
    notes: list[ParsedNote] = field(default_factory=list)
    signoff_roles: list[str] = field(default_factory=list)
    contacts: list[ParsedContact] = field(default_factory=list)
    signals: list[ParsedSignal] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    # Diagnostics of this one reading; not part of the template's structure.
    report: ImportReport = field(default_factory=ImportReport, compare=False, repr=False)

    def sections(self):
        for phase in self.phases:
            yield from phase.sections

    def containers(self):
        for phase in self.phases:
            yield phase
            yield from phase.sections

    def steps(self):
        for container in self.containers():
            yield from (e for e in container.entries if isinstance(e, ParsedStep))

    def items(self):
        for container in self.containers():
            for entry in container.entries:
                if isinstance(entry, ParsedStep):
                    yield from entry.items
                else:
                    yield entry

    def counts(self) -> dict:
        items = list(self.items())
        return {
            "name": self.name,
            "phases": len(self.phases),
            "sections": sum(1 for _ in self.sections()),
            "steps": sum(1 for _ in self.steps()),
            "items": len(items),
            "subchecks": sum(len(i.subchecks) for i in items),
            "signoff_roles": list(self.signoff_roles),
            "contacts": len(self.contacts),
            "contacts_not_filled_in": sum(1 for c in self.contacts if not c.filled_in),
            "signals": len(self.signals),
            "step_minutes": [s.minutes for s in self.steps() if s.minutes is not None],
        }
