"""Helpers shared by the checklist tests: structural comparison and generated templates."""

import dataclasses

from hypothesis import strategies as st

from deploychecks.checklists.parser import (
    ParsedContact,
    ParsedItem,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
    ParsedSignal,
    ParsedStep,
    ParsedSubCheck,
    ParsedTemplate,
)


def structure(parsed: ParsedTemplate) -> dict:
    """The template as plain data, without source line numbers (they move on export)
    and without the import report (a diagnostic of one reading)."""

    def drop_lines(value):
        if isinstance(value, dict):
            return {k: drop_lines(v) for k, v in value.items() if k not in ("line", "report")}
        if isinstance(value, list):
            return [drop_lines(v) for v in value]
        return value

    return drop_lines(dataclasses.asdict(parsed))


# --- Generated templates ---------------------------------------------------------------
# A safe alphabet: letters, digits, spaces and light punctuation. Markdown syntax
# characters (#, *, _, -, |, [, ], (, ), `, >) are left out on purpose: a title that
# contains them is Markdown, and Markdown is not required to survive as literal text.

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?"


def _clean(text: str) -> str:
    return text.strip()


def _words(max_size: int = 40) -> st.SearchStrategy[str]:
    """Non-empty one-line text, trimmed (the parser trims titles)."""
    return st.text(_ALPHABET, min_size=1, max_size=max_size).map(_clean).filter(bool)


def _titles(max_size: int = 40) -> st.SearchStrategy[str]:
    # "sign-off"/"approval" and "contact"/"escalation" headings have their own meaning
    # (their checkboxes are roles, their tables contacts), so a phase may not be called so.
    return _words(max_size).filter(
        lambda t: not any(w in t.lower() for w in ("signoff", "sign off", "approval"))
    )


def _text_block(max_lines: int = 3) -> st.SearchStrategy[str]:
    """Markdown prose: lines of safe text, possibly separated by blank lines."""
    line = st.one_of(_words(), st.just(""))
    return st.lists(line, max_size=max_lines).map(lambda lines: "\n".join(lines).strip("\n"))


_subchecks = st.builds(ParsedSubCheck, title=_words(20))

# Owners as the Markdown names them: usernames, role slugs, the lead.
_owners = st.lists(
    st.sampled_from(["alice", "bob.smith", "carol_d", "devops-lead", "qa-lead", "lead"]),
    max_size=3,
    unique=True,
)
_anchors = st.sampled_from(["phase", "go_live", "window"])
_due_minutes = st.integers(min_value=-60 * 24 * 60, max_value=60 * 24 * 60)


@st.composite
def _items(draw):
    item = draw(
        st.builds(
            ParsedItem,
            title=_words(),
            summary=st.one_of(st.just(""), _words()),
            details=_text_block(),
            required=st.booleans(),
            subchecks=st.lists(_subchecks, max_size=2),
            owners=_owners,
            evidence_required=st.booleans(),
        )
    )
    if draw(st.booleans()):
        item.due_minutes, item.due_anchor = draw(_due_minutes), draw(_anchors)
    return item


_items = _items()

_steps = st.builds(
    ParsedStep,
    number=st.integers(min_value=1, max_value=99),
    title=_words(),
    minutes=st.one_of(st.none(), st.integers(min_value=0, max_value=600)),
    notes=_text_block(),
    # A step is "a list item holding checkboxes": without items it is plain notes.
    items=st.lists(_items, min_size=1, max_size=2),
)

_entries = st.lists(st.one_of(_items, _steps), max_size=3)

_timing = st.one_of(st.just(""), _words(20))

_sections = st.builds(
    ParsedSection,
    title=_titles(),
    timing_label=_timing,
    notes=_text_block(),
    entries=_entries,
    owners=_owners,
)


def _has_items(phase: ParsedPhase) -> bool:
    return any(container.entries for container in [phase, *phase.sections])


# A phase without a single item is not a phase but a note (parsing rule), so
# generated phases hold at least one item somewhere.
_phases = st.builds(
    ParsedPhase,
    title=_titles(),
    timing_label=_timing,
    notes=_text_block(),
    entries=_entries,
    sections=st.lists(_sections, max_size=2),
).filter(_has_items)

_notes = st.builds(ParsedNote, title=_titles(), body=_text_block(), before_phases=st.booleans())

# Placeholders as templates write them; a contact holding one is "not filled in"
# (worked out from the values, on import as here).
_placeholders = st.sampled_from(["[Name]", "[Phone]", "@name", "TBD", "To be assigned"])

_contacts = st.builds(
    ParsedContact,
    role=_words(30),
    person=st.one_of(st.just(""), _words(30), _placeholders),
    phone=st.one_of(st.just(""), _words(20), _placeholders),
    handle=st.one_of(st.just(""), _words(20), _placeholders),
)

# Thresholds as the grading rules accept them: yellow begins before red in the
# direction that is worse; a sustained rule needs a red bound.
_bounds = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda f: round(f, 3))
_units = st.sampled_from(["", "%", "ms", "s", "of 20", "req/s", "connections"])


@st.composite
def _number_signals(draw, name):
    direction = draw(st.sampled_from(["above", "below"]))
    low, high = sorted(draw(st.lists(_bounds, min_size=2, max_size=2, unique=True)))
    yellow, red = (low, high) if direction == "above" else (high, low)
    shape = draw(st.sampled_from(["both", "yellow only", "red only"]))
    signal = ParsedSignal(
        name=name,
        unit=draw(_units),
        direction=direction,
        yellow_at=None if shape == "red only" else yellow,
        yellow_inclusive=draw(st.booleans()),
        red_at=None if shape == "yellow only" else red,
        red_inclusive=draw(st.booleans()),
    )
    # A missing bound's inclusive flag means nothing; it reads back as the default.
    if signal.yellow_at is None:
        signal.yellow_inclusive = True
    if signal.red_at is None:
        signal.red_inclusive = False
    else:
        signal.sustained_minutes = draw(st.one_of(st.none(), st.integers(1, 600)))
    return signal


def _boolean_signal(name: str, sustained: int | None) -> ParsedSignal:
    return ParsedSignal(name, "yes/no", "boolean", "above", None, True, 1.0, True, sustained)


@st.composite
def _signals(draw):
    names = draw(
        st.lists(_titles(40), max_size=3, unique_by=str.casefold).map(
            lambda names: [n for n in names if n[-1] not in ".:"]
        )
    )
    signals = []
    for name in names:
        if draw(st.integers(0, 3)) == 0:
            signals.append(_boolean_signal(name, draw(st.one_of(st.none(), st.integers(1, 60)))))
        else:
            signals.append(draw(_number_signals(name)))
    return signals


def _canonical_notes(notes: list[ParsedNote]) -> list[ParsedNote]:
    # Notes above the first phase come first in the document, the rest after it.
    return sorted(notes, key=lambda n: not n.before_phases)


templates = st.builds(
    ParsedTemplate,
    name=_words(60),
    description=_text_block(),
    phases=st.lists(_phases, min_size=1, max_size=2),
    notes=st.lists(_notes, max_size=3).map(_canonical_notes),
    # Roles are unique per template (a database constraint); the parser drops repeats.
    signoff_roles=st.lists(_words(30), max_size=4, unique=True),
    contacts=st.lists(_contacts, max_size=3),
    signals=_signals(),
)
