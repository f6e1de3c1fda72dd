"""parse_checklist: bytes or text in, a ParsedTemplate out (or ChecklistParseError).

decoding -> blocks (markdown-it tokens) -> scopes (headings) -> contacts and
signals -> phases, sections, items, notes and roles -> lengths checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from deploychecks.checklists.parser.blocks import (
    Document,
    Heading,
    ListBlock,
    ListNode,
    Table,
    read_document,
)
from deploychecks.checklists.parser.decoding import decode, source_lines
from deploychecks.checklists.parser.keys import check_unique
from deploychecks.checklists.parser.limits import check_lengths
from deploychecks.checklists.parser.model import (
    ChecklistParseError,
    ImportReport,
    ParsedContact,
    ParsedTemplate,
)
from deploychecks.checklists.parser.outline import OutlineBuilder, Scope, build_scopes
from deploychecks.checklists.parser.people import (
    CONTACT_HEADING_RE,
    CONTACT_LIST_HEADING_RE,
    list_contact,
    table_contacts,
)
from deploychecks.checklists.parser.signals import (
    SignalReader,
    bullet_condition,
    indicator_colour,
    read_table,
    sustained_in,
    threshold_columns,
)
from deploychecks.checklists.parser.text import plain, without_comments

UNTITLED = "Imported checklist"
_META_RE = re.compile(r"^\*\*(?P<key>[^*]+?)\*\*\s*:\s*(?P<value>.+)$")
_META_KEYS = {"time required": "time_required", "rollback time": "rollback_time"}
_ROLLBACK_CONDITIONS_RE = re.compile(r"rollback|roll back|roll-back", re.I)
_CONDITIONS_RE = re.compile(r"condition|trigger|criteria|when", re.I)


def parse_checklist(
    source: str | bytes, *, fallback_name: str | None = None, encoding: str | None = None
) -> ParsedTemplate:
    """Parse Markdown (text or raw bytes) into a ParsedTemplate, or raise ChecklistParseError.

    `fallback_name` (e.g. the file's name) names a checklist that has neither a
    `# Title` nor a front matter `title:`/`name:`; `encoding` says how text that
    is passed as a string was decoded, for the report.
    """
    report = ImportReport()
    if isinstance(source, bytes):
        source, report.encoding = decode(source)
    else:
        report.encoding = encoding or "text"
    lines, report.repaired_mojibake = source_lines(source)
    if not any(line.strip() for line in lines):
        raise ChecklistParseError("the file is empty")
    doc = read_document(lines)
    title, root = build_scopes(doc)
    template = ParsedTemplate(name=_name(title, doc, fallback_name, report), report=report)
    consumed: set[int] = set()
    template.contacts = _contacts(root, consumed, report)
    template.signals = _signals(doc, root, consumed, report)
    OutlineBuilder(doc, template, consumed).build(root)
    _collect_metadata(template)
    if not template.phases:
        raise ChecklistParseError(
            "no phase holds a checkbox item"
            if root.has_task()
            else "no checkboxes found: a checklist needs at least one '- [ ] item'"
        )
    check_lengths(template)
    check_unique(template.items())
    return template


def name_from_path(path: str) -> str:
    """'release_checklist.md' -> 'Release checklist'."""
    words = re.sub(r"[_\-.]+", " ", Path(path).stem).strip()
    return (words[:1].upper() + words[1:].lower()) if words.isupper() else words.capitalize()


def _name(title: Heading | None, doc: Document, fallback: str | None, report) -> str:
    name = without_comments(title.text).strip() if title else ""
    # GitHub issue templates have both: `name` is the template's, `title` the
    # prefix of the issues it opens ("[BUG] ").
    for key in ("name", "title"):
        name = name or plain(doc.front_matter.get(key, ""))
    name = name or (fallback or "").strip()
    if not name:
        report.ignore(0, 1, "title", f"none found (“# Title” or front matter); named “{UNTITLED}”")
        name = UNTITLED
    return name[:200]


# --- Contacts ---------------------------------------------------------------------------


def _contacts(scope: Scope, consumed: set[int], report: ImportReport) -> list[ParsedContact]:
    if not CONTACT_HEADING_RE.search(scope.title):
        return [c for child in scope.children for c in _contacts(child, consumed, report)]
    contacts = []
    for block in scope.all_blocks():
        if isinstance(block, Table) and threshold_columns(block) is None:
            contacts.extend(table_contacts(block))
            consumed.add(id(block))
        elif (
            isinstance(block, ListBlock)
            and not block.has_task()
            and CONTACT_LIST_HEADING_RE.search(scope.title)
        ):
            contacts.extend(_list_contacts(block, consumed, report))
    return contacts


def _list_contacts(block: ListBlock, consumed: set[int], report) -> list[ParsedContact]:
    found = [(node, list_contact(node.text)) for node in block.nodes]
    if not any(contact for _, contact in found):
        return []
    consumed.add(id(block))
    for node, contact in found:
        if contact is None:
            report.ignore(
                node.start, node.end, "contact line", "not written as `Role: Name <email>`"
            )
    return [contact for _, contact in found if contact]


# --- Signals ----------------------------------------------------------------------------


def _signals(doc: Document, root: Scope, consumed: set[int], report: ImportReport):
    reader = SignalReader(report)
    tables = [b for b in doc.blocks if isinstance(b, Table) and threshold_columns(b)]
    for table in tables:
        read_table(reader, table, threshold_columns(table))
        consumed.add(id(table))
    if not tables:
        _indicator_signals(reader, _all_nodes(doc.blocks))
    for node in _rollback_condition_nodes(root):
        _sustained_rule(reader, node)
    return reader.signals


def _all_nodes(blocks) -> list[ListNode]:
    out: list[ListNode] = []

    def walk(nodes):
        for node in nodes:
            out.append(node)
            walk(node.children)

    for block in blocks:
        if isinstance(block, ListBlock):
            walk(block.nodes)
    return out


def _indicator_signals(reader: SignalReader, nodes: list[ListNode]) -> None:
    """The seed's "Green light / Yellow flag / Red flag indicators" lists."""
    rows: dict[str, dict] = {}
    for node in nodes:
        colour = indicator_colour(node)
        if colour is None:
            continue
        for bullet in node.children:
            condition = bullet_condition(bullet.text)
            if condition is None:
                reader.problem(bullet.start, "", f"“{plain(bullet.text)}” gives no threshold")
                continue
            name, cell = condition
            row = rows.setdefault(name.casefold(), {"name": name, "line": bullet.start})
            row.setdefault("cells", {})[colour] = cell
    for row in rows.values():
        reader.add(row["name"], row["cells"], row["line"])


def _rollback_condition_nodes(scope: Scope) -> list[ListNode]:
    if _ROLLBACK_CONDITIONS_RE.search(scope.title) and _CONDITIONS_RE.search(scope.title):
        return _all_nodes(scope.all_blocks())
    return [n for child in scope.children for n in _rollback_condition_nodes(child)]


def _sustained_rule(reader: SignalReader, node: ListNode) -> None:
    """ "**Error rate > 1%** for > 5 minutes" under "Conditions for rollback"."""
    text = plain(node.text.partition("\n")[0]).casefold()
    for signal in reader.signals:
        if text.startswith(signal.name.casefold()) and signal.red_at is not None:
            minutes = sustained_in(text[len(signal.name) :])
            if minutes and signal.sustained_minutes is None:
                signal.sustained_minutes = minutes


def _collect_metadata(template: ParsedTemplate) -> None:
    for note in template.notes:
        for line in note.body.splitlines():
            m = _META_RE.match(line.strip())
            if m and (key := _META_KEYS.get(m.group("key").strip().lower())):
                template.metadata.setdefault(key, m.group("value").strip())
