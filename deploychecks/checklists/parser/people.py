"""Sign-off roles and contacts.

Roles: the task items under a heading about sign-off or approval, its
sub-headings included. A role's name is the item's bold lead, or its text up to
a colon or a dash, without Markdown ("**DBA approval** - DBA confirms" -> "DBA
approval").

Contacts: under a heading about contacts or escalation, a table (columns found by
their header: role/position, person/name/who, phone/mobile/tel,
slack/chat/handle/teams/matrix) or, under a "Contacts" heading, a list of
`Role: Name <email or @handle or phone>` lines.
"""

from __future__ import annotations

import re

from deploychecks.checklists.parser.blocks import ListNode, Table
from deploychecks.checklists.parser.model import ParsedContact
from deploychecks.checklists.parser.text import (
    is_placeholder,
    plain,
    split_bold,
    without_comments,
)

SIGNOFF_HEADING_RE = re.compile(r"sign[\s-]?off|approval", re.I)
CONTACT_HEADING_RE = re.compile(r"contact|escalation", re.I)
CONTACT_LIST_HEADING_RE = re.compile(r"contact", re.I)
_ROLE_END_RE = re.compile(r":|\s[-–—]\s|\s\(")
_CONTACT_LINE_RE = re.compile(
    r"^(?:\*\*|__)?(?P<role>[^:*_<>]+?)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<rest>.*)$"
)
_ANGLE_RE = re.compile(r"<([^<>]*)>")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_PHONE_RE = re.compile(r"^\+?[\d\s().\-/]{5,}$")


def role_name(text: str) -> str:
    """The sign-off role named by a task item's text."""
    first = without_comments(text.partition("\n")[0]).strip()
    bold, rest = split_bold(first)
    if first.startswith(("**", "__")) and bold:
        # "**Role**: signature" (as exported): the colon outside the bold separates,
        # and the bold text is the role as written; "**Role:** …" drops its colon.
        return plain(bold) if rest.startswith(":") else plain(bold).rstrip(":").strip()
    return plain(_ROLE_END_RE.split(first, maxsplit=1)[0]).rstrip(":").strip()


def task_nodes(nodes: list[ListNode]):
    for node in nodes:
        if node.task:
            yield node
        yield from task_nodes(node.children)


# --- Contacts from a table ------------------------------------------------------------


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip("*_ ").strip() if index is not None and index < len(row) else ""


def table_contacts(table: Table) -> list[ParsedContact]:
    header = [h.lower().strip("*_ ") for h in table.header]

    def column(*names):
        for i, h in enumerate(header):
            if any(n in h for n in names):
                return i
        return None

    role = column("role", "position") or 0
    person = column("person", "name", "who")
    phone = column("phone", "mobile", "tel")
    handle = column("slack", "chat", "handle", "teams", "matrix")
    return [
        ParsedContact(_cell(row, role), _cell(row, person), _cell(row, phone), _cell(row, handle))
        for row in table.rows
        if _cell(row, role)
    ]


# --- Contacts from a list -------------------------------------------------------------


_PLACEHOLDER_KINDS = [
    ("email", ("email", "mail")),
    ("phone", ("phone", "tel", "mobile", "number")),
    ("handle", ("handle", "slack", "chat")),
]


def _kind_of(value: str) -> str:
    """'email', 'handle', 'phone' or 'name' for one way of reaching someone."""
    if EMAIL_RE.match(value):
        return "email"
    if value.startswith(("@", "#")):
        return "handle"
    if _PHONE_RE.match(value) and sum(c.isdigit() for c in value) >= 5:
        return "phone"
    if is_placeholder(value):
        lowered = value.lower()
        for kind, words in _PLACEHOLDER_KINDS:
            if any(w in lowered for w in words):
                return kind
    return "name"


def list_contact(text: str) -> ParsedContact | None:
    """`Role: Name <jane@example.com>`, `Role: Name <@jane>`, `Role: <+1 555 0100>`…

    An email address goes in the person field, where reminders and escalation
    look for one; a name is kept only when there is no address.
    """
    m = _CONTACT_LINE_RE.match(without_comments(text).strip())
    if not m or "\n" in text.strip():
        return None
    role = plain(m.group("role")).strip()
    rest = m.group("rest").strip("*_ ")
    found = {"email": "", "handle": "", "phone": "", "name": ""}
    for value in [v.strip() for v in _ANGLE_RE.findall(rest)]:
        found[_kind_of(value)] = found[_kind_of(value)] or value
    name = _ANGLE_RE.sub(" ", rest).strip(" ,;-–—")
    if name:
        kind = _kind_of(name)
        found[kind] = found[kind] or name
    if not role or not any(found.values()):
        return None
    person = found["email"] or found["name"]
    return ParsedContact(role, person, found["phone"], found["handle"])
