"""Helpers shared by the checklist tests: structural comparison and generated templates."""

import dataclasses

from hypothesis import strategies as st

from deploychecks.checklists.parser import (
    ParsedContact,
    ParsedItem,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
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

_items = st.builds(
    ParsedItem,
    title=_words(),
    summary=st.one_of(st.just(""), _words()),
    details=_text_block(),
    required=st.booleans(),
    subchecks=st.lists(_subchecks, max_size=2),
)

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
    ParsedSection, title=_titles(), timing_label=_timing, notes=_text_block(), entries=_entries
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

_contacts = st.builds(
    ParsedContact,
    role=_words(30),
    person=st.one_of(st.just(""), _words(30)),
    phone=st.one_of(st.just(""), _words(20)),
    handle=st.one_of(st.just(""), _words(20)),
)


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
)
