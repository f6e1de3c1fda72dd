"""List items to checklist entries.

A task item is an **item**; task items nested under it (at any depth) are its
**sub-checks**; everything else inside it (continuation lines, plain bullets,
code) is its **details**, taken from the source lines so the Markdown survives.
A plain list item that holds task items is a **step**: "(5 min)" or "(0-2
minutes)" in its title is its time budget (the upper bound of a range).
"""

from __future__ import annotations

from deploychecks.checklists.parser.blocks import ListNode
from deploychecks.checklists.parser.keys import explicit_key
from deploychecks.checklists.parser.model import (
    ImportReport,
    ParsedItem,
    ParsedSection,
    ParsedStep,
    ParsedSubCheck,
)
from deploychecks.checklists.parser.owners import split_trailing
from deploychecks.checklists.parser.text import (
    OPTIONAL_RE,
    duration_minutes,
    split_bold,
    split_evidence_marker,
    without_comments,
    without_duration,
)


def dedent(lines: list[str]) -> str:
    present = [line for line in lines if line.strip()]
    if not present:
        return ""
    cut = min(len(line) - len(line.lstrip(" ")) for line in present)
    return "\n".join(line[cut:] for line in lines).strip("\n")


def one_line(text: str) -> str:
    """A paragraph as one line of text (a sub-check's or role's label)."""
    return " ".join(part.strip() for part in without_comments(text).split("\n")).strip()


def first_line(text: str) -> tuple[str, int]:
    """A paragraph's first line without HTML comments, and how many source lines it
    takes: a comment opened on the first line runs on to the line that closes it."""
    lines = text.split("\n")
    taken = 1
    while taken < len(lines) and unclosed_comment("\n".join(lines[:taken])):
        taken += 1
    return one_line("\n".join(lines[:taken])), taken


def unclosed_comment(text: str) -> bool:
    return text.rfind("<!--") > text.rfind("-->")


UNCLOSED_COMMENT = (
    "unclosed comment",
    "“<!--” opens mid-paragraph and the paragraph ends before “-->”: GitHub shows it as "
    "text and reads the lines after it as usual (a comment hides lines only when “<!--” "
    "starts the line)",
)


class EntryBuilder:
    """Builds items and steps from list nodes; `inner` are the source lines with
    blockquote markers removed."""

    def __init__(self, inner: list[str], report: ImportReport):
        self.inner = inner
        self.report = report
        self.step_count = 0

    # --- Items ------------------------------------------------------------------

    def item(self, node: ListNode) -> ParsedItem | None:
        first, taken = first_line(node.text)
        if unclosed_comment(node.text):
            self.report.ignore(node.start, node.text_end, *UNCLOSED_COMMENT)
        first, evidence_required = split_evidence_marker(first)
        first, owners, due = split_trailing(first, node.start + 1)
        title, summary = split_bold(first)
        required = True
        if OPTIONAL_RE.search(summary) or OPTIONAL_RE.fullmatch(title):
            required = False
            summary = OPTIONAL_RE.sub(" ", summary).strip()
        if not title:
            self.report.ignore(node.start, node.end, "empty checkbox", "it has no text to tick")
            return None
        raw_first = "\n".join(node.text.split("\n")[:taken])
        item = ParsedItem(
            title=title,
            summary=summary,
            required=required,
            line=node.start + 1,
            key=explicit_key(raw_first, node.start + 1),
            owners=owners,
            due_minutes=due[0] if due else None,
            due_anchor=due[1] if due else "",
            evidence_required=evidence_required,
        )
        numbers: list[int] = []
        # The title is the first line; the rest of its paragraph is details.
        self._own_lines(node, numbers, node.text_start + taken)
        for child in node.children:
            self._under_item(child, item, numbers)
        item.details = self._text(numbers, node.column)
        return item

    def _under_item(self, node: ListNode, item: ParsedItem, numbers: list[int]) -> None:
        if node.task:
            title = one_line(node.text)
            if title:
                # Deeper task items are flattened onto the item: sub-checks have no nesting.
                item.subchecks.append(ParsedSubCheck(title=title, line=node.start + 1))
            else:
                self.report.ignore(node.start, node.end, "empty checkbox", "it has no text")
            # A sub-check's whole first paragraph is its label.
            self._own_lines(node, numbers, node.text_end)
        else:
            self._own_lines(node, numbers, node.start)
        for child in node.children:
            self._under_item(child, item, numbers)

    def _own_lines(self, node: ListNode, numbers: list[int], title_end: int) -> None:
        """The node's lines from `title_end` on, outside its child items and HTML blocks."""
        skipped = sorted([(c.start, c.end) for c in node.children] + node.hidden)
        line = max(node.start, title_end)
        for start, end in skipped:
            numbers.extend(range(line, max(line, start)))
            line = max(line, end)
        numbers.extend(range(line, node.end))

    def _text(self, numbers: list[int], column: int) -> str:
        numbers.sort()
        inner = self.inner
        lines = []
        for n in numbers:
            raw = inner[n]
            lines.append(raw[column:] if raw[:column].strip() == "" else raw.lstrip())
        return without_comments(dedent(lines)) if lines else ""

    # --- Steps ------------------------------------------------------------------

    def step(self, node: ListNode, container: ParsedSection) -> None:
        self.step_count += 1
        number = node.number if node.number is not None else self.step_count
        first, taken = first_line(node.text)
        title, rest = split_bold(first)
        minutes = duration_minutes(rest) if rest else None
        if minutes is None and not rest:
            minutes = duration_minutes(title)
            if minutes is not None:
                title = without_duration(title)
        step = ParsedStep(
            number=number, title=title or f"Step {number}", minutes=minutes, line=node.start + 1
        )
        container.entries.append(step)
        numbers: list[int] = []
        self._own_lines(node, numbers, max(node.text_start, node.start) + taken)
        for child in node.children:
            if child.task:
                item = self.item(child)
                if item:
                    step.items.append(item)
            elif child.has_task():
                self.step(child, container)
            else:
                numbers.extend(range(child.start, child.end))
        step.notes = self._text(numbers, node.column)
