"""Headings to phases and sections, and the blocks under them to entries and notes.

The first `#` heading is the title. Of the other headings, the highest level used
starts a **phase** (`##` in most files; `###` in a template that has no `##`; `#`
in a file that has more than one), the next level a **section**; deeper headings
stay in the notes. A section heading
before any phase starts a phase of its own, and task items before any heading
make a phase called "Checklist". A heading about sign-off or approval, with its
sub-headings, holds **sign-off roles**. A phase with no item is kept as a **note**.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deploychecks.checklists.parser.blocks import Block, Document, Heading, ListBlock, Table
from deploychecks.checklists.parser.items import (
    UNCLOSED_COMMENT,
    EntryBuilder,
    dedent,
    unclosed_comment,
)
from deploychecks.checklists.parser.model import (
    ImportReport,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
    ParsedTemplate,
)
from deploychecks.checklists.parser.owners import split_trailing
from deploychecks.checklists.parser.people import SIGNOFF_HEADING_RE, role_name, task_nodes
from deploychecks.checklists.parser.text import split_timing, without_comments

LOOSE_PHASE_TITLE = "Checklist"


@dataclass
class Scope:
    """A heading and what follows it up to the next heading of its rank or higher."""

    title: str
    rank: int  # 0: the document, 2: a phase, 3: a section
    line: int  # 0-based line of the heading (-1 for the document)
    blocks: list[Block] = field(default_factory=list)
    children: list[Scope] = field(default_factory=list)

    def all_blocks(self):
        yield from self.blocks
        for child in self.children:
            yield from child.all_blocks()

    def has_task(self) -> bool:
        return any(isinstance(b, ListBlock) and b.has_task() for b in self.all_blocks())


def build_scopes(doc: Document) -> tuple[Heading | None, Scope]:
    """(the title heading, the document's scope tree)."""
    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    title = next((h for h in headings if h.level == 1), None)
    phase_level = min((h.level for h in headings if h is not title), default=2)
    root = Scope("", 0, -1)
    stack = [root]
    for block in doc.blocks:
        if block is title:
            continue
        if not isinstance(block, Heading):
            stack[-1].blocks.append(block)
            continue
        rank = block.level - phase_level + 2
        if rank > 3:
            stack[-1].blocks.append(block)
            continue
        while stack[-1].rank >= rank:
            stack.pop()
        scope = Scope(block.text, rank, block.start)
        stack[-1].children.append(scope)
        stack.append(scope)
    return title, root


_KEPT_KINDS = {
    "prose": "text",
    "code": "indented code",
    "fence": "fenced code",
    "open fence": "fenced code that is never closed (the rest of the file is code)",
}
_DROPPED = {
    "comment": ("HTML comment", "hidden, as GitHub hides it"),
    "html": ("HTML block", "raw HTML is not shown"),
    "rule": ("horizontal rule", "a divider, nothing to keep"),
    "front matter": ("front matter", "read for the title only"),
}


class OutlineBuilder:
    """Fills a ParsedTemplate's phases, sections, notes and roles from the scope tree.

    `consumed` holds the ids of blocks already read as contacts or signals.
    """

    def __init__(self, doc: Document, template: ParsedTemplate, consumed: set[int]):
        self.doc = doc
        self.template = template
        self.report: ImportReport = template.report
        self.consumed = consumed
        self.entries = EntryBuilder(doc.inner, self.report)

    def build(self, root: Scope) -> None:
        self.loose(root.blocks)
        for scope in root.children:
            if self.is_signoff(scope):
                self.roles(scope)
            else:
                self.phase(scope)

    def loose(self, blocks: list[Block]) -> None:
        """Text before the first heading is the description; task items there
        make a phase of their own."""
        first_task = next(
            (i for i, b in enumerate(blocks) if isinstance(b, ListBlock) and b.has_task()),
            len(blocks),
        )
        self.template.description = self.fill_notes(blocks[:first_task], "the description")
        if first_task < len(blocks):
            phase = ParsedPhase(title=LOOSE_PHASE_TITLE, line=blocks[first_task].start + 1)
            self.fill(phase, blocks[first_task:])
            self.template.phases.append(phase)

    def is_signoff(self, scope: Scope) -> bool:
        return bool(SIGNOFF_HEADING_RE.search(scope.title)) and scope.has_task()

    def roles(self, scope: Scope) -> None:
        roles = self.template.signoff_roles
        for block in scope.all_blocks():
            if isinstance(block, ListBlock):
                for node in task_nodes(block.nodes):
                    name = role_name(node.text)
                    if name and name not in roles:
                        roles.append(name)
            elif _dropped(block):
                self.report.ignore(block.start, block.end, *_DROPPED[block.kind])
            elif not isinstance(block, Heading) and id(block) not in self.consumed:
                what = "table" if isinstance(block, Table) else _what(block.kind)
                self.report.ignore(
                    block.start, block.end, what, f"under the sign-off heading “{scope.title}”"
                )

    def phase(self, scope: Scope) -> None:
        title, timing = split_timing(scope.title)
        phase = ParsedPhase(title=title, timing_label=timing, line=scope.line + 1)
        self.fill(phase, scope.blocks)
        for child in scope.children:
            if self.is_signoff(child):
                self.roles(child)
                continue
            heading, owners, _ = split_trailing(child.title, child.line + 1, due=False)
            title, timing = split_timing(heading)
            section = ParsedSection(
                title=title, timing_label=timing, line=child.line + 1, owners=owners
            )
            self.fill(section, child.blocks)
            phase.sections.append(section)
        if any(c.entries for c in [phase, *phase.sections]):
            self.template.phases.append(phase)
        elif not self.only_consumed(scope):
            self.template.notes.append(_phase_as_note(phase, not self.template.phases))

    def only_consumed(self, scope: Scope) -> bool:
        """A heading whose content was all read as contacts or signals leaves no note."""
        blocks = list(scope.all_blocks())
        kept = [b for b in blocks if id(b) not in self.consumed and not _dropped(b)]
        return len(kept) < len(blocks) and not kept and not scope.children

    def fill(self, container: ParsedSection, blocks: list[Block]) -> None:
        notes: list[tuple[int, int]] = []
        where = f"the notes of “{container.title}”"
        for block in blocks:
            if id(block) in self.consumed:
                continue
            self.report_empty_checkboxes(block)
            if isinstance(block, ListBlock) and block.has_task():
                for node in block.nodes:
                    if node.task:
                        item = self.entries.item(node)
                        if item:
                            container.entries.append(item)
                    elif node.has_task():
                        self.entries.step(node, container)
                    else:
                        notes.append((node.start, node.end))
            else:
                self.note_block(block, notes, where)
        container.notes = self.text(notes)

    def fill_notes(self, blocks: list[Block], where: str) -> str:
        notes: list[tuple[int, int]] = []
        for block in blocks:
            if id(block) not in self.consumed:
                self.report_empty_checkboxes(block)
                self.note_block(block, notes, where)
        return self.text(notes)

    def report_empty_checkboxes(self, block: Block) -> None:
        if isinstance(block, ListBlock):
            for node in block.empty_checkboxes():
                self.report.ignore(
                    node.start,
                    node.end,
                    "empty checkbox",
                    "nothing follows “[ ]”, so GitHub shows it as text; kept as text",
                )

    def note_block(self, block: Block, notes: list[tuple[int, int]], where: str) -> None:
        """Keep a block that is not an entry as notes (and say so), or drop it."""
        if _dropped(block):
            what, why = _DROPPED[block.kind]
            self.report.ignore(block.start, block.end, what, why)
            return
        notes.append((block.start, block.end))
        if isinstance(block, Heading):
            self.report.ignore(
                block.start,
                block.end,
                f"level-{block.level} heading",
                f"deeper than a section, so kept in {where}",
            )
        elif isinstance(block, Table):
            self.report.ignore(
                block.start,
                block.end,
                "table",
                f"neither contacts (not under a contacts heading) nor signals (no green, "
                f"yellow and red columns); kept in {where}",
            )
        elif isinstance(block, ListBlock):
            self.report.ignore(block.start, block.end, "list", f"no checkboxes; kept in {where}")
        else:
            lines = self.doc.lines[block.start : block.end]
            if block.kind == "prose" and unclosed_comment("\n".join(lines)):
                self.report.ignore(block.start, block.end, *UNCLOSED_COMMENT)
            what = _what(block.kind)
            if block.kind in ("code", "fence"):
                what = f"{what} (not checkboxes, even if it looks like them)"
            self.report.ignore(block.start, block.end, what, f"kept in {where}")

    def text(self, ranges: list[tuple[int, int]]) -> str:
        """The source lines of `ranges`, with the blank lines between neighbours."""
        lines = self.doc.lines
        out: list[str] = []
        previous = None
        for start, end in ranges:
            if previous is not None:
                gap = lines[previous:start]
                out.extend(gap if not any(g.strip() for g in gap) else [""])
            out.extend(lines[start:end])
            previous = end
        return without_comments(dedent(out))


def _what(kind: str) -> str:
    return _DROPPED[kind][0] if kind in _DROPPED else _KEPT_KINDS.get(kind, kind)


def _dropped(block: Block) -> bool:
    return getattr(block, "kind", None) in _DROPPED


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
