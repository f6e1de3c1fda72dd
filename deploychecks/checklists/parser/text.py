"""Rules about the text of one line: bold titles, timing labels, budgets, placeholders.

No Markdown structure here (blocks.py has that); these helpers look at the text
of a heading, a list item or a table cell.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

_BOLD_LEAD_RE = re.compile(r"^\*\*(?P<bold>.+?)\*\*(?P<rest>.*)$|^__(?P<bold2>.+?)__(?P<rest2>.*)$")
_TRAILING_PAREN_RE = re.compile(r"^(?P<title>.*?)\s*\((?P<timing>[^()]*)\)\s*$")
_UNIT = r"(?P<unit>min|mins|minute|minutes|hour|hours|hr|hrs|h)"
# "(5 min)", "(N minutes)", "(1 hour)", and ranges "(0-2 minutes)", "(1–2 hours)".
_DURATION_RE = re.compile(
    r"\(\s*(?:(?P<low>\d+)\s*(?:-|–|—|to)\s*)?(?P<n>\d+)\s*" + _UNIT + r"\s*\)", re.I
)
_COMMENT_RE = re.compile(r"([ \t]?)<!--.*?-->([ \t]?)", re.S)
OPTIONAL_RE = re.compile(r"\s*[*_]?\(optional\)[*_]?\s*", re.I)
_TAG_RE = re.compile(r"<[^>]*>")
_inline = MarkdownIt("commonmark", {"html": True})


def split_bold(text: str) -> tuple[str, str]:
    """'**Title** rest' -> ('Title', 'rest'); plain text -> (text, '')."""
    m = _BOLD_LEAD_RE.match(text)
    if not m:
        return text.strip(), ""
    bold = m.group("bold") if m.group("bold") is not None else m.group("bold2")
    rest = m.group("rest") if m.group("bold") is not None else m.group("rest2")
    return bold.strip(), rest.strip()


# "(evidence required)" on an item's line, after its bold title: ticking the item
# needs a link or a file first (deploychecks.evidence). Emphasis around it is allowed.
EVIDENCE_MARKER = "(evidence required)"
_EVIDENCE_RE = re.compile(r"(?:^|\s)[*_]?\(\s*evidence\s+required\s*\)[*_]?(?=\s|$)", re.I)


def split_evidence_marker(text: str) -> tuple[str, bool]:
    """'**Title** summary (evidence required) @dba' -> ('**Title** summary @dba', True).

    Only outside a leading bold title (a title may say anything), and never the
    whole line: "(evidence required)" alone is the item's title."""
    m = _BOLD_LEAD_RE.match(text)
    start = 0
    if m:
        start = m.start("rest") if m.group("bold") is not None else m.start("rest2")
    head, tail = text[:start], text[start:]
    rest, found = _EVIDENCE_RE.subn(" ", tail)
    if not found or not (head + rest).strip():
        return text, False
    rest = " ".join(rest.split())
    return (f"{head} {rest}" if head and rest else head + rest).strip(), True


def split_timing(title: str) -> tuple[str, str]:
    """'Deploy (1 hour before)' -> ('Deploy', '1 hour before')."""
    m = _TRAILING_PAREN_RE.match(title)
    if m and m.group("title").strip():
        return m.group("title").strip(), m.group("timing").strip()
    return title.strip(), ""


def duration_minutes(text: str) -> int | None:
    """The budget of '(5 min)' or '(N-M minutes)' (the upper bound), or None."""
    m = _DURATION_RE.search(text)
    if not m:
        return None
    n = int(m.group("n"))
    return n * 60 if m.group("unit").lower().startswith("h") else n


def without_duration(text: str) -> str:
    return _DURATION_RE.sub("", text).strip()


def without_comments(text: str) -> str:
    """Drop complete HTML comments, which GitHub does not show."""
    if "<!--" not in text:
        return text
    # "a <!-- x --> b" reads "a b": one of the spaces around a comment goes with it.
    return _COMMENT_RE.sub(lambda m: m.group(1) or m.group(2), text)


def plain(text: str) -> str:
    """Inline Markdown as the words a reader sees: '**QA** [lead](x)' -> 'QA lead'."""
    if not any(c in text for c in "*_`[<&\\"):
        return text.strip()
    rendered = _TAG_RE.sub("", _inline.renderInline(without_comments(text)))
    return " ".join(html.unescape(rendered).split())


# --- Placeholders -----------------------------------------------------------------------
# Contact tables in templates are often left for each team to fill in: "[Name]",
# "<phone>", "@name", "TBD", "_____".
_PLACEHOLDER_RE = re.compile(
    r"""^(
        \[[^\]]*\] | <[^>@]*> | \{[^}]*\} | [_\-.?x\s]+
      | (tbd|tba|tbc|todo|to\s+be\s+(assigned|confirmed|decided|named|filled(\s+in)?))\.?
      | @?(name|names|person|phone|number|handle|user|username|email|slack|someone|who)
    )$""",
    re.I | re.X,
)


def is_placeholder(value: str) -> bool:
    return bool(value.strip()) and bool(_PLACEHOLDER_RE.match(plain(value)))


def contact_is_filled_in(person: str, phone: str, handle: str) -> bool:
    """A contact is filled in when it names a way to reach someone and no field is a
    placeholder."""
    values = [v for v in (person, phone, handle) if v.strip()]
    return bool(values) and not any(is_placeholder(v) for v in values)


# --- Due times (parser.owners) ----------------------------------------------------------
ANCHORS = {"phase": "phase start", "go_live": "go-live", "window": "window start"}


def describe_due(minutes: int, anchor: str) -> str:
    """'2h after go-live': the words of a due time, in the Markdown and on pages."""
    size = abs(minutes)
    if size and size % 1440 == 0:
        amount = f"{size // 1440}d"
    elif size and size % 60 == 0:
        amount = f"{size // 60}h"
    else:
        amount = f"{size}m"
    return f"{amount} {'before' if minutes < 0 else 'after'} {ANCHORS[anchor]}"
