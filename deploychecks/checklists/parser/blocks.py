"""Markdown to blocks, the way GitHub reads it: markdown-it-py's CommonMark token stream.

HTML comments, fenced and indented code, blockquotes, setext headings, tables and
lazy continuation lines follow the CommonMark/GFM specification because the
tokenizer implements it; every block token carries `map` (its source lines), so
what the importer builds keeps its line numbers.

A list item is a task when its first paragraph starts with "[ ]", "[x]" or "[X]"
and white space: the rule of GitHub and of mdit-py-plugins' `tasklists`, applied
to the block tokens (a test checks we agree with the plugin on generated
documents). The plugin itself also needs the inline pass, which only costs time
here: titles and details are taken from the source lines.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

# mdit_py_plugins.tasklists: "\[[ xX]]" then GFM white space.
TASK_RE = re.compile(r"\[[ xX]\][ \t\n\v\f\r]+")
_MARKER_RE = re.compile(r" *(?:[-*+]|\d{1,9}[.)])( *)")
_QUOTE_RE = re.compile(r"^( *)> ?")
_FRONT_MATTER_KEY_RE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$")

# The block rules of CommonMark plus GFM tables. No inline pass: nothing here
# needs it (see the module docstring).
_md = MarkdownIt("commonmark").enable("table").use(front_matter_plugin).disable("inline")


@dataclass(slots=True)
class ListNode:
    """One list item. Lines are 0-based; `end` is exclusive."""

    start: int
    end: int
    column: int  # where the item's content starts, to re-indent its detail lines
    marker: str  # "-", "*", "+", "3." or "3)"
    number: int | None
    task: bool = False
    text: str = ""  # the first paragraph (without "[ ]" for a task), maybe several lines
    text_start: int = -1  # that paragraph's lines (-1: the item opens with no paragraph)
    text_end: int = -1
    children: list[ListNode] = field(default_factory=list)
    hidden: list[tuple[int, int]] = field(default_factory=list)  # HTML blocks inside

    def has_task(self) -> bool:
        return any(child.task or child.has_task() for child in self.children)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(slots=True)
class Heading:
    level: int
    text: str
    start: int
    end: int


@dataclass(slots=True)
class ListBlock:
    nodes: list[ListNode]
    start: int
    end: int

    def has_task(self) -> bool:
        return any(node.task or node.has_task() for node in self.nodes)

    def empty_checkboxes(self):
        """Items that are only "[ ]": GitHub shows them as text, not as tasks."""
        for node in self.nodes:
            for inner in node.walk():
                if not inner.task and inner.text in ("[ ]", "[x]", "[X]"):
                    yield inner


@dataclass(slots=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    row_lines: list[int]
    start: int
    end: int


@dataclass(slots=True)
class Other:
    """Any other block: "prose", "code", "fence", "html", "comment", "rule"."""

    kind: str
    start: int
    end: int


Block = Heading | ListBlock | Table | Other


@dataclass
class Document:
    lines: list[str]  # the source, one string per line
    inner: list[str]  # the same with blockquote markers removed (for quoted list items)
    blocks: list[Block]
    front_matter: dict[str, str] = field(default_factory=dict)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while tokens are made.

    A 1 MB file makes ~100,000 tokens, none of them in reference cycles, and
    every few hundred allocations the collector walks the young objects, now and
    then every object of the process: half the parse time (bench/importer.py).
    Reference counting still frees everything; the collector resumes after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_document(lines: list[str]) -> Document:
    with collector_paused():
        tokens = _md.parse("\n".join(lines))
        walker = _Walker(tokens, lines)
        blocks = walker.blocks()
    return Document(lines, walker.inner, blocks, walker.front_matter)


def html_kind(token: Token) -> str:
    return "comment" if token.content.lstrip().startswith("<!--") else "html"


class _Walker:
    """One pass over the token stream, building blocks and list trees."""

    def __init__(self, tokens: list[Token], lines: list[str]):
        self.tokens = tokens
        self.lines = lines
        self.inner = lines
        self.i = 0
        self.front_matter: dict[str, str] = {}

    def blocks(self) -> list[Block]:
        """Blocks in document order; the content of a blockquote is read as if it
        stood at the top (a quoted task item is an item), except headings."""
        tokens, out, depth = self.tokens, [], 0
        while self.i < len(tokens):
            token = tokens[self.i]
            kind = token.type
            if kind == "blockquote_open" or kind == "blockquote_close":
                depth += 1 if kind == "blockquote_open" else -1
                if token.map:
                    self.unquote(token.map)
                self.i += 1
            elif kind == "heading_open":
                out.append(self.heading(token, depth))
            elif kind == "bullet_list_open" or kind == "ordered_list_open":
                start, end = token.map
                out.append(ListBlock(self.list_items(0), start, end))
            elif kind == "table_open":
                out.append(self.table())
            else:
                out.append(self.other(token))
        return out

    def heading(self, token: Token, depth: int) -> Block:
        start, end = token.map
        self.i += 3
        if depth:
            return Other("prose", start, end)  # a quoted heading structures nothing
        # A setext heading may span lines; spaces inside a line are kept as written.
        text = " ".join(part.strip() for part in self.tokens[self.i - 2].content.split("\n"))
        return Heading(int(token.tag[1]), text, start, end)

    def other(self, token: Token) -> Other:
        start, end = token.map or (0, 0)
        kind = token.type
        if kind == "paragraph_open":
            self.i += 3
            return Other("prose", start, end)
        self.i += 1
        if kind == "front_matter":
            self.read_front_matter(token.content)
            return Other("front matter", start, end)
        names = {"code_block": "code", "fence": "fence", "hr": "rule"}
        name = html_kind(token) if kind == "html_block" else names.get(kind, kind)
        if kind == "fence" and not self.closes_fence(token, start, end):
            name = "open fence"
        return Other(name, start, end)

    def closes_fence(self, token: Token, start: int, end: int) -> bool:
        last = self.inner[end - 1].strip() if end - 1 > start else ""
        return last.startswith(token.markup) and not last.strip(token.markup[0])

    def read_front_matter(self, content: str) -> None:
        for line in content.splitlines():
            m = _FRONT_MATTER_KEY_RE.match(line)
            if m:
                value = m.group(2).strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                self.front_matter.setdefault(m.group(1).lower(), value.strip())

    def unquote(self, span: list[int]) -> None:
        if self.inner is self.lines:
            self.inner = list(self.lines)
        for n in range(span[0], span[1]):
            self.inner[n] = _QUOTE_RE.sub(r"\1", self.inner[n], count=1)

    def list_items(self, from_column: int) -> list[ListNode]:
        tokens = self.tokens
        opening = tokens[self.i]
        close = opening.type.replace("_open", "_close")
        self.i += 1
        nodes = []
        while not (tokens[self.i].type == close and tokens[self.i].level == opening.level):
            nodes.append(self.list_item(from_column))
        self.i += 1
        return nodes

    def list_item(self, from_column: int) -> ListNode:
        token = self.tokens[self.i]
        start, end = token.map
        number = int(token.info) if token.info else None
        marker = f"{token.info}{token.markup}" if token.info else token.markup
        node = ListNode(start, end, self.column(start, from_column), marker, number)
        self.i += 1
        first = True
        while True:
            child = self.tokens[self.i]
            if child.type == "list_item_close" and child.level == token.level:
                self.i += 1
                return node
            self.item_content(node, child, first)
            first = False

    def item_content(self, node: ListNode, token: Token, first: bool) -> None:
        kind = token.type
        if kind == "paragraph_open":
            if first:
                self.first_paragraph(node, token, self.tokens[self.i + 1].content)
            self.i += 3
        elif kind == "bullet_list_open" or kind == "ordered_list_open":
            node.children.extend(self.list_items(node.column))
        elif kind == "html_block":
            node.hidden.append((token.map[0], token.map[1]))
            self.i += 1
        elif kind == "table_open":
            self.skip_to("table_close", token.level)
        elif kind == "blockquote_open":
            self.unquote(token.map)
            self.i += 1
        else:
            self.i += 1

    def first_paragraph(self, node: ListNode, token: Token, content: str) -> None:
        node.text_start, node.text_end = token.map
        if TASK_RE.match(content):
            node.task = True
            content = content[3:]
        node.text = content.strip()

    def column(self, line: int, from_column: int) -> int:
        """The column where the item's text starts: after the marker and 1-4 spaces
        (5 or more start an indented code block, which begins after one)."""
        text = self.inner[line]
        m = _MARKER_RE.match(text, from_column) or _MARKER_RE.match(text)
        if not m:
            return len(text) - len(text.lstrip(" "))
        spaces = len(m.group(1))
        if spaces == 0 or spaces > 4 or m.end() == len(text):
            return m.end() - spaces + 1
        return m.end()

    def skip_to(self, kind: str, level: int) -> None:
        while not (self.tokens[self.i].type == kind and self.tokens[self.i].level == level):
            self.i += 1
        self.i += 1

    def table(self) -> Table:
        tokens, opening = self.tokens, self.tokens[self.i]
        rows: list[list[str]] = []
        row_lines: list[int] = []
        while not (tokens[self.i].type == "table_close" and tokens[self.i].level == opening.level):
            token = tokens[self.i]
            if token.type == "tr_open":
                rows.append([])
                row_lines.append(token.map[0] if token.map else opening.map[0])
            elif token.type == "inline":
                rows[-1].append(token.content.strip())
            self.i += 1
        self.i += 1
        header = rows[0] if rows else []
        return Table(header, rows[1:], row_lines[1:], opening.map[0], opening.map[1])
