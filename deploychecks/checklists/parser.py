"""Turn a Markdown release checklist into a template structure.

The rules (see README "Markdown format"): `#` names the template, `##` starts a
phase, `###` a section; task-list lines are items, or sub-checks when they sit
under another checkbox; a plain list item holding checkboxes is a step with an
optional "(N min)" budget. `##` blocks without checkboxes become notes, except
sign-off headings (their checkboxes are roles) and contact tables.

The parser never touches the database; `importing.save_template` does.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

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


@dataclass
class ParsedPhase(ParsedSection):
    sections: list[ParsedSection] = field(default_factory=list)


@dataclass
class ParsedContact:
    role: str
    person: str = ""
    phone: str = ""
    handle: str = ""


@dataclass
class ParsedNote:
    title: str
    body: str
    before_phases: bool = False


@dataclass
class ParsedTemplate:
    name: str
    description: str = ""
    phases: list[ParsedPhase] = field(default_factory=list)
    notes: list[ParsedNote] = field(default_factory=list)
    signoff_roles: list[str] = field(default_factory=list)
    contacts: list[ParsedContact] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

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
            "step_minutes": [s.minutes for s in self.steps() if s.minutes is not None],
        }


# --- Decoding -------------------------------------------------------------------

_CP1252_HIGH = {
    ch for b in range(0x80, 0x100) if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}
_MOJIBAKE_RE = re.compile("[\u00c2-\u00f4][" + re.escape("".join(sorted(_CP1252_HIGH))) + "]+")


def _repair_run(match: re.Match) -> str:
    run = match.group(0)
    try:
        raw = run.encode("cp1252")
    except UnicodeEncodeError:
        return run
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # final=False: a trailing byte lost in the bad round trip (cp1252 has
        # no character for 0x8F) leaves an incomplete sequence, which is dropped.
        fixed = decoder.decode(raw, final=False)
    except UnicodeDecodeError:
        return run
    return fixed if fixed and len(fixed) < len(run) else run


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was read as Windows-1252, e.g. 'âœ…' back to '✅'."""
    return _MOJIBAKE_RE.sub(_repair_run, text)


def decode_markdown(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ChecklistParseError(
            f"the file is {len(data):,} bytes; the limit is {MAX_BYTES:,} bytes (1 MB)"
        )
    if b"\x00" in data:
        raise ChecklistParseError("this looks like a binary file, not Markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ChecklistParseError("the file is not valid UTF-8 text", line) from None
    return text


def normalise(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    text = repair_mojibake(text)
    return [line.expandtabs(4).rstrip() for line in text.split("\n")]


# --- Lines ----------------------------------------------------------------------

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST_RE = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?:\s+(?P<text>.*)|$)")
_CHECKBOX_RE = re.compile(r"^\[(?P<state>[ xX])\](?:\s+(?P<text>.*)|$)")
_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})")
_RULE_RE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_BOLD_LEAD_RE = re.compile(r"^\*\*(?P<bold>.+?)\*\*(?P<rest>.*)$|^__(?P<bold2>.+?)__(?P<rest2>.*)$")
_DURATION_RE = re.compile(
    r"\(\s*(?P<n>\d+)\s*(?P<unit>min|mins|minute|minutes|hour|hours|hr|hrs|h)\s*\)", re.I
)
_TRAILING_PAREN_RE = re.compile(r"^(?P<title>.*?)\s*\((?P<timing>[^()]*)\)\s*$")
_SIGNOFF_HEADING_RE = re.compile(r"sign[\s-]?off|approval", re.I)
_CONTACT_HEADING_RE = re.compile(r"contact|escalation", re.I)
_OPTIONAL_RE = re.compile(r"\s*[*_]?\(optional\)[*_]?\s*", re.I)
_META_RE = re.compile(r"^\*\*(?P<key>[^*]+?)\*\*\s*:\s*(?P<value>.+)$")
_META_KEYS = {"time required": "time_required", "rollback time": "rollback_time"}


def split_bold(text: str) -> tuple[str, str]:
    """'**Title** rest' -> ('Title', 'rest'); plain text -> (text, '')."""
    m = _BOLD_LEAD_RE.match(text)
    if not m:
        return text.strip(), ""
    bold = m.group("bold") if m.group("bold") is not None else m.group("bold2")
    rest = m.group("rest") if m.group("bold") is not None else m.group("rest2")
    return bold.strip(), rest.strip()


def split_timing(title: str) -> tuple[str, str]:
    m = _TRAILING_PAREN_RE.match(title)
    if m and m.group("title").strip():
        return m.group("title").strip(), m.group("timing").strip()
    return title.strip(), ""


def duration_minutes(text: str) -> int | None:
    m = _DURATION_RE.search(text)
    if not m:
        return None
    n = int(m.group("n"))
    return n * 60 if m.group("unit").lower().startswith("h") else n


@dataclass
class _Node:
    """A list item in a block, with its children and continuation lines."""

    line: int
    indent: int
    content_indent: int
    marker: str
    text: str
    checkbox: bool
    children: list[_Node] = field(default_factory=list)
    # (line number, raw line) of non-list lines that belong to this item.
    extra: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Block:
    heading: str
    level: int
    line: int
    # Top-level entries: _Node or (line, raw text line).
    entries: list = field(default_factory=list)

    def has_checkbox(self) -> bool:
        def walk(nodes):
            return any(n.checkbox or walk(n.children) for n in nodes)

        return walk([e for e in self.entries if isinstance(e, _Node)])


def _blocks(lines: list[str]) -> tuple[str | None, list[_Block]]:
    """Split into heading blocks and build the list-item tree inside each."""
    name = None
    blocks = [_Block(heading="", level=0, line=0)]
    stack: list[_Node] = []
    fence: str | None = None
    blank_run = 0
    for number, raw in enumerate(lines, start=1):
        block = blocks[-1]
        if fence is not None:
            _attach_text(block, stack, number, raw)
            if raw.strip().startswith(fence):
                fence = None
            continue
        fence_match = _FENCE_RE.match(raw)
        if fence_match:
            fence = fence_match.group(1)
            _attach_text(block, stack, number, raw)
            continue
        if not raw.strip():
            blank_run += 1
            _attach_text(block, stack, number, raw)
            continue
        heading = _HEADING_RE.match(raw)
        if heading:
            level = len(heading.group(1))
            title = heading.group(2).strip()
            stack = []
            blank_run = 0
            if level == 1 and name is None:
                name = title
                continue
            if level <= 3:
                blocks.append(_Block(heading=title, level=level, line=number))
                continue
            block.entries.append((number, raw))
            continue
        if _RULE_RE.match(raw):
            stack = []
            continue
        item = _LIST_RE.match(raw)
        if item:
            indent = len(item.group("indent"))
            marker = item.group("marker")
            text = (item.group("text") or "").strip()
            check = _CHECKBOX_RE.match(text)
            content_indent = indent + len(marker) + 1
            node = _Node(
                line=number,
                indent=indent,
                content_indent=content_indent,
                marker=marker,
                text=(check.group("text") or "").strip() if check else text,
                checkbox=bool(check),
            )
            while stack and stack[-1].indent >= indent:
                stack.pop()
            if stack:
                stack[-1].children.append(node)
            else:
                if node.checkbox and indent >= 2 and _orphan(block):
                    raise ChecklistParseError(
                        f"the indented checkbox “{node.text}” is a sub-check with no parent "
                        "item above it; outdent it or add the item it belongs to",
                        number,
                    )
                block.entries.append(node)
            stack.append(node)
            blank_run = 0
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if stack and indent >= 2:
            # A continuation line (paragraph or code) inside the current item.
            while len(stack) > 1 and stack[-1].content_indent > indent + 1:
                stack.pop()
            stack[-1].extra.append((number, raw))
        else:
            stack = []
            block.entries.append((number, raw))
        blank_run = 0
    if fence is not None:
        raise ChecklistParseError("a code block (```) is opened but never closed")
    return name, blocks


def _orphan(block: _Block) -> bool:
    """True when no list has started in this block, or the list was interrupted."""
    for entry in reversed(block.entries):
        if isinstance(entry, _Node):
            return False
        if entry[1].strip():
            return True
    return True


def _attach_text(block: _Block, stack: list[_Node], number: int, raw: str) -> None:
    if stack:
        stack[-1].extra.append((number, raw))
    else:
        block.entries.append((number, raw))


# --- Classification ---------------------------------------------------------------


def _dedent(lines: list[str]) -> str:
    present = [line for line in lines if line.strip()]
    if not present:
        return ""
    cut = min(len(line) - len(line.lstrip(" ")) for line in present)
    return "\n".join(line[cut:] for line in lines).strip("\n")


def _relative(raw: str, base: int) -> str:
    """A continuation line, re-indented relative to the column `base`."""
    return raw[base:] if raw[:base].strip() == "" else raw.lstrip()


def _node_lines(node: _Node, base: int) -> list[tuple[int, str]]:
    """(line number, text) for the node and its non-checkbox subtree, relative to `base`."""
    pad = " " * max(node.indent - base, 0)
    out = [(node.line, f"{pad}{node.marker} {node.text}".rstrip())]
    out.extend((number, _relative(raw, base)) for number, raw in node.extra)
    for child in node.children:
        if not child.checkbox:
            out.extend(_node_lines(child, base))
    return out


def _in_document_order(lines: list[tuple[int, str]]) -> list[str]:
    # A node's own continuation lines and its child list items are gathered
    # separately; sorting by line number puts a paragraph that follows a
    # nested list back after that list.
    return [text for _, text in sorted(lines, key=lambda pair: pair[0])]


def _node_markdown(node: _Node, base: int) -> list[str]:
    """The node and its non-checkbox subtree as Markdown lines, relative to `base`."""
    return _in_document_order(_node_lines(node, base))


def _has_checkbox(node: _Node) -> bool:
    return any(c.checkbox or _has_checkbox(c) for c in node.children)


def _make_item(node: _Node) -> ParsedItem:
    if not node.text:
        raise ChecklistParseError("a checkbox has no text", node.line)
    title, summary = split_bold(node.text)
    required = True
    if _OPTIONAL_RE.search(summary) or _OPTIONAL_RE.fullmatch(title):
        required = False
        summary = _OPTIONAL_RE.sub(" ", summary).strip()
    if not title:
        raise ChecklistParseError("an item has an empty title", node.line)
    item = ParsedItem(title=title, summary=summary, required=required, line=node.line)
    base = node.content_indent
    detail_lines = [(number, _relative(raw, base)) for number, raw in node.extra]
    for child in node.children:
        _collect_under_item(child, item, detail_lines, base)
    item.details = _dedent(_in_document_order(detail_lines))
    return item


def _collect_under_item(
    node: _Node, item: ParsedItem, detail_lines: list[tuple[int, str]], base: int
) -> None:
    if node.checkbox:
        if not node.text:
            raise ChecklistParseError("a sub-check has no text", node.line)
        # Deeper checkboxes are flattened onto the item: sub-checks have no nesting.
        item.subchecks.append(ParsedSubCheck(title=node.text, line=node.line))
        for _, raw in node.extra:
            if raw.strip():
                raise ChecklistParseError(
                    "a sub-check cannot have details; make it an item instead", node.line
                )
        for child in node.children:
            _collect_under_item(child, item, detail_lines, base)
        return
    pad = " " * max(node.indent - base, 0)
    detail_lines.append((node.line, f"{pad}{node.marker} {node.text}".rstrip()))
    detail_lines.extend((number, _relative(raw, base)) for number, raw in node.extra)
    for child in node.children:
        _collect_under_item(child, item, detail_lines, base)


class _Builder:
    def __init__(self):
        self.step_number = 0

    def fill(self, container: ParsedSection, block: _Block) -> None:
        notes: list[str] = []
        for entry in block.entries:
            if isinstance(entry, _Node):
                self._top(entry, container, notes)
            else:
                notes.append(entry[1])
        container.notes = _dedent(notes)

    def _top(self, node: _Node, container: ParsedSection, notes: list[str]) -> None:
        if node.checkbox:
            container.entries.append(_make_item(node))
        elif _has_checkbox(node):
            self._step(node, container)
        else:
            notes.extend(_node_markdown(node, 0))

    def _step(self, node: _Node, container: ParsedSection) -> None:
        self.step_number += 1
        number = int(node.marker[:-1]) if node.marker[0].isdigit() else self.step_number
        title, rest = split_bold(node.text)
        minutes = duration_minutes(rest) if rest else None
        if minutes is None and not rest:
            minutes = duration_minutes(title)
            if minutes is not None:
                title = _DURATION_RE.sub("", title).strip()
        step = ParsedStep(
            number=number, title=title or f"Step {number}", minutes=minutes, line=node.line
        )
        container.entries.append(step)
        base = node.content_indent
        notes = [(number, _relative(raw, base)) for number, raw in node.extra]
        for child in node.children:
            if child.checkbox:
                step.items.append(_make_item(child))
            elif _has_checkbox(child):
                self._step(child, container)
            else:
                notes.extend(_node_lines(child, base))
        step.notes = _dedent(_in_document_order(notes))


def _checkbox_nodes(nodes):
    for node in nodes:
        if node.checkbox:
            yield node
        yield from _checkbox_nodes(node.children)


def _block_text(block: _Block) -> str:
    lines: list[str] = []
    for entry in block.entries:
        if isinstance(entry, _Node):
            lines.extend(_node_markdown(entry, 0))
        else:
            lines.append(entry[1])
    return _dedent(lines)


def _table_rows(block: _Block) -> list[list[str]]:
    rows = []
    for entry in block.entries:
        if isinstance(entry, _Node):
            continue
        line = entry[1].strip()
        if line.startswith("|") and line.endswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            rows.append(cells)
    return rows


def _contacts(block: _Block) -> list[ParsedContact]:
    rows = _table_rows(block)
    if len(rows) < 2:
        return []
    header = [h.lower().strip("*_ ") for h in rows[0]]

    def column(*names):
        for i, h in enumerate(header):
            if any(n in h for n in names):
                return i
        return None

    cols = {
        "role": column("role", "position") or 0,
        "person": column("person", "name", "who"),
        "phone": column("phone", "mobile", "tel"),
        "handle": column("slack", "chat", "handle", "teams", "matrix"),
    }
    contacts = []
    for row in rows[1:]:

        def cell(key):
            i = cols[key]
            return row[i].strip("*_ ").strip() if i is not None and i < len(row) else ""

        if cell("role"):
            contacts.append(
                ParsedContact(cell("role"), cell("person"), cell("phone"), cell("handle"))
            )
    return contacts


def _signoff_role(node: _Node) -> str:
    title, rest = split_bold(node.text)
    if rest.startswith(":"):
        # "**Role**: signature": the colon outside the bold is the separator.
        return title
    if not rest:
        return title.rstrip(":").strip()
    return node.text.split(":", 1)[0].strip("*_ ").strip()


def parse_checklist(source: str | bytes, *, fallback_name: str | None = None) -> ParsedTemplate:
    """Parse Markdown (text or raw bytes) into a ParsedTemplate, or raise ChecklistParseError."""
    if isinstance(source, bytes):
        source = decode_markdown(source)
    if len(source.encode("utf-8")) > MAX_BYTES:
        raise ChecklistParseError(f"the text is larger than {MAX_BYTES:,} bytes (1 MB)")
    if "\x00" in source:
        raise ChecklistParseError("this looks like a binary file, not Markdown text")
    lines = normalise(source)
    if not any(line.strip() for line in lines):
        raise ChecklistParseError("the file is empty")
    name, blocks = _blocks(lines)
    name = (name or fallback_name or "").strip()
    if not name:
        raise ChecklistParseError("the checklist has no '# Title' line to name it", 1)
    template = ParsedTemplate(name=name[:200])
    template.description = _block_text(blocks[0])
    builder = _Builder()
    phase: ParsedPhase | None = None
    seen_checkbox = False

    def close_phase():
        nonlocal phase
        if phase is None:
            return
        if any(True for _ in _phase_items(phase)):
            template.phases.append(phase)
        else:
            template.notes.append(_phase_as_note(phase, not template.phases))
        phase = None

    for block in blocks[1:]:
        if _SIGNOFF_HEADING_RE.search(block.heading) and block.has_checkbox():
            roles = [
                _signoff_role(n)
                for n in _checkbox_nodes([e for e in block.entries if isinstance(e, _Node)])
            ]
            template.signoff_roles.extend(r for r in roles if r and r not in template.signoff_roles)
            if block.level == 2:
                close_phase()
            continue
        if _CONTACT_HEADING_RE.search(block.heading) and _table_rows(block):
            template.contacts.extend(_contacts(block))
            if block.level == 2:
                close_phase()
            continue
        if block.level == 2:
            close_phase()
            title, timing = split_timing(block.heading)
            phase = ParsedPhase(title=title, timing_label=timing, line=block.line)
            builder.fill(phase, block)
            if not block.has_checkbox() and phase.notes:
                _collect_metadata(template, phase.notes)
        elif block.level == 3:
            title, timing = split_timing(block.heading)
            if phase is None:
                # A '###' before any '##' stands for a phase of its own.
                phase = ParsedPhase(title=title, timing_label=timing, line=block.line)
                builder.fill(phase, block)
                continue
            section = ParsedSection(title=title, timing_label=timing, line=block.line)
            builder.fill(section, block)
            phase.sections.append(section)
        seen_checkbox = seen_checkbox or block.has_checkbox()
    close_phase()
    if not template.phases:
        raise ChecklistParseError(
            "no checkboxes found: a checklist needs at least one '- [ ] item' under a '## Phase'"
            if not seen_checkbox
            else "no phase holds a checkbox item"
        )
    _check_lengths(template)
    return template


def _check_lengths(template: ParsedTemplate) -> None:
    def check(what: str, text: str, line: int | None = None) -> None:
        limit = MAX_LENGTHS[what]
        if len(text) > limit:
            raise ChecklistParseError(
                f"the {what} “{text[:40]}…” is {len(text):,} characters long; the limit is {limit}",
                line or None,
            )

    for phase in template.phases:
        check("phase title", phase.title, phase.line)
        check("timing label", phase.timing_label, phase.line)
        for section in phase.sections:
            check("section title", section.title, section.line)
            check("timing label", section.timing_label, section.line)
    for step in template.steps():
        check("step title", step.title, step.line)
        if step.minutes is not None and step.minutes > MAX_STEP_MINUTES:
            raise ChecklistParseError(
                f"the step budget of {step.minutes:,} minutes is too large", step.line or None
            )
    for item in template.items():
        check("item title", item.title, item.line)
        check("item summary", item.summary, item.line)
        for sub in item.subchecks:
            check("sub-check", sub.title, sub.line)
    for role in template.signoff_roles:
        check("sign-off role", role)
    for contact in template.contacts:
        check("contact role", contact.role)
        check("contact person", contact.person)
        check("contact phone", contact.phone)
        check("contact chat handle", contact.handle)
    for note in template.notes:
        check("note title", note.title)


def _phase_items(phase: ParsedPhase):
    for container in [phase, *phase.sections]:
        yield from container.entries


def _phase_as_note(phase: ParsedPhase, before: bool) -> ParsedNote:
    title = f"{phase.title} ({phase.timing_label})" if phase.timing_label else phase.title
    parts = [phase.notes] if phase.notes else []
    for section in phase.sections:
        heading = (
            f"{section.title} ({section.timing_label})" if section.timing_label else section.title
        )
        parts.append(f"### {heading}")
        if section.notes:
            parts.append(section.notes)
    return ParsedNote(title=title, body="\n\n".join(parts), before_phases=before)


def _collect_metadata(template: ParsedTemplate, notes: str) -> None:
    for line in notes.splitlines():
        m = _META_RE.match(line.strip())
        if m and (key := _META_KEYS.get(m.group("key").strip().lower())):
            template.metadata.setdefault(key, m.group("value").strip())
