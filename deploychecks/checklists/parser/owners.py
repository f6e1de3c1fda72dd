"""Owners and due times: trailing tokens of an item's first line or a section heading.

    - [ ] **Backups verified** @dba @devops-lead (due 2h after window start)
    ### Backend deployment (1-2 hours) @backend-lead

An **owner** is `@name`: a sign-off role by its slug (`@devops-lead` for
"DevOps Lead", or quoted as written, `@"DevOps Lead"`), `@lead` for the
deployment's lead, or else a username. Only tokens at the very end of the line
count, so "@name" inside a title or a contacts table stays text.

A **due time** is `(due <n><m|h|d> after|before phase start|go-live|window start)`
on an item, e.g. `(due 30m after phase start)`, `(due 1d before go-live)`.
Stored as signed minutes and an anchor ("phase", "go_live", "window").
"""

from __future__ import annotations

import re

from django.utils.text import slugify

from deploychecks.checklists.parser.model import ChecklistParseError
from deploychecks.checklists.parser.text import ANCHORS, describe_due

__all__ = ["ANCHORS", "describe_due", "format_due", "parse_due", "split_trailing"]

MAX_OWNERS = 10
OWNER_MAX = 150  # a username's max_length
LEAD = "lead"
_ANCHOR_WORDS = {
    "phase start": "phase",
    "go-live": "go_live",
    "go live": "go_live",
    "golive": "go_live",
    "window start": "window",
}
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60}
_UNITS |= {"hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440}
# A username (Django's [\w.@+-]) or a quoted role name, at the end of the text.
_OWNER_TAIL_RE = re.compile(r'(?:^|\s)@(?:"(?P<quoted>[^"@]{1,120})"|(?P<name>[\w.+-]*\w))\s*$')
_DUE_TAIL_RE = re.compile(r"(?:^|\s)\(\s*due\b(?P<spec>[^()]*)\)\s*$", re.I)
_DUE_SPEC_RE = re.compile(
    r"^\s*\+?(?P<n>\d{1,5})\s*(?P<unit>[a-z]+)\s+(?P<dir>after|before)\s+"
    r"(?P<anchor>phase start|go[- ]?live|window start)\s*$",
    re.I,
)
MAX_DUE_MINUTES = 60 * 24 * 60  # 60 days either way


def owner_token(name: str, *, quoted: bool = False) -> str:
    """The stored form of an owner: a quoted role name's slug, else as written."""
    return slugify(name.strip()) if quoted else name.strip()


def split_trailing(
    text: str, line: int = 0, *, due: bool = True
) -> tuple[str, list[str], tuple[int, str] | None]:
    """(`text` without its trailing owners and due time, the owners, (minutes, anchor)).

    Without `due` (a heading) only owners are read."""
    read_due = due
    owners: list[str] = []
    due = None
    read = 0
    while True:
        if match := _OWNER_TAIL_RE.search(text):
            # Each search scans the line: stop past MAX_OWNERS tokens, else a long
            # line of "@a @a …" takes quadratic time (72 s for 120 KB).
            read += 1
            if read > MAX_OWNERS:
                raise ChecklistParseError(f"at most {MAX_OWNERS} owners per line", line or None)
            quoted = match.group("quoted") is not None
            name = match.group("quoted") if quoted else match.group("name")
            rest = text[: match.start()].rstrip()
            if not rest:
                break  # "@alice" alone is the title, not an owner
            token = owner_token(name, quoted=quoted)
            if len(token) > OWNER_MAX:
                raise ChecklistParseError(f"the owner “@{token[:40]}…” is too long", line or None)
            if token and token not in owners:
                owners.insert(0, token)
            text = rest
        elif read_due and due is None and (match := _DUE_TAIL_RE.search(text)):
            rest = text[: match.start()].rstrip()
            if not rest:
                break
            due = parse_due(match.group("spec"), line)
            text = rest
        else:
            break
    if len(owners) > MAX_OWNERS:
        raise ChecklistParseError(f"at most {MAX_OWNERS} owners per line", line or None)
    return text, owners, due


def parse_due(spec: str, line: int = 0) -> tuple[int, str]:
    """'2h after go-live' -> (120, 'go_live'); '1d before window start' -> (-1440, 'window')."""
    match = _DUE_SPEC_RE.match(spec)
    unit = _UNITS.get(match.group("unit").lower()) if match else None
    if not match or unit is None:
        raise ChecklistParseError(
            f"“(due{spec})” is not a due time: write e.g. “(due 2h after go-live)”, "
            "“(due 30m after phase start)” or “(due 1d before window start)”",
            line or None,
        )
    minutes = int(match.group("n")) * unit
    if minutes > MAX_DUE_MINUTES:
        raise ChecklistParseError("a due time is at most 60 days from its anchor", line or None)
    anchor = _ANCHOR_WORDS[" ".join(match.group("anchor").lower().split())]
    return (-minutes if match.group("dir").lower() == "before" else minutes), anchor


def format_due(minutes: int, anchor: str) -> str:
    """The Markdown of a due time: (120, 'go_live') -> '(due 2h after go-live)'."""
    return f"(due {describe_due(minutes, anchor)})"


def format_owners(owners) -> str:
    return " ".join(f"@{o}" for o in owners)


def with_trailing(text: str, owners, due: tuple[int, str] | None) -> str:
    """`text` with its owners and due time appended, as split_trailing reads them."""
    parts = [text]
    if owners:
        parts.append(format_owners(owners))
    if due is not None and due[1]:
        parts.append(format_due(*due))
    return " ".join(parts)
