"""Differential test: on generated GitHub-flavoured documents, the importer's items and
sub-checks are exactly the task-list items that markdown-it-py with mdit-py-plugins'
`tasklists` renders (same count, same source lines).

The documents mix what real templates hold: nested task and plain lists with any
marker, indentation by spaces or tabs, blockquotes, HTML comments hiding task lines,
fenced and indented code holding task-looking lines, setext and ATX headings,
tables, front matter and lazy continuation lines. Sign-off and contact headings
are left out: their task items are roles, not items, by our own rule.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from deploychecks.checklists.parser import ChecklistParseError, parse_checklist

oracle = MarkdownIt("commonmark").enable("table").use(front_matter_plugin).use(tasklists_plugin)

_WORDS = ["deploy", "check", "the", "logs", "Ship", "tag", "v2", "**bold**", "`code`", "ok."]
words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join)
blank = st.sampled_from(["", "\n"])  # a blank line between blocks, or none (lazy lines)


def _indent(lines: list[str], pad: str) -> list[str]:
    return [pad + line if line else line for line in lines]


@st.composite
def list_block(draw, depth=0) -> list[str]:
    """A list whose items are tasks, plain bullets or "[ ]" alone, maybe nested."""
    marker = draw(st.sampled_from(["-", "*", "+", "1."]))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        box = draw(st.sampled_from(["[ ] ", "[x] ", "[X] ", "", "[ ]"]))
        text = "" if box == "[ ]" else draw(words)
        lines.append(f"{marker} {box}{text}".rstrip())
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["  continued", "lazy line"])))
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            pad = draw(st.sampled_from([" " * (len(marker) + 1), "\t", "    "]))
            lines.extend(_indent(draw(list_block(depth + 1)), pad))
    return lines


@st.composite
def block(draw) -> list[str]:
    kind = draw(
        st.sampled_from(
            [
                "list",
                "list",
                "list",
                "paragraph",
                "atx",
                "setext",
                "comment",
                "fence",
                "indented",
                "quote",
                "table",
            ]
        )
    )
    if kind == "list":
        return draw(list_block())
    if kind == "paragraph":
        return [draw(words), *draw(st.lists(words, max_size=1))]
    if kind == "atx":
        return [f"{'#' * draw(st.integers(1, 4))} {draw(words)}"]
    if kind == "setext":
        return [draw(words), draw(st.sampled_from(["===", "---"]))]
    if kind == "comment":
        return ["<!--", *draw(list_block()), "-->"]
    if kind == "fence":
        return ["```", *draw(list_block()), "```"]
    if kind == "indented":
        return [draw(words), "", *_indent(draw(list_block()), "    ")]
    if kind == "quote":
        return ["> " + line for line in draw(list_block())]
    return ["| Step | Owner |", "|---|---|", f"| {draw(words)} | ops |"]


@st.composite
def documents(draw) -> str:
    lines: list[str] = []
    if draw(st.booleans()):
        lines += ["---", f"name: {draw(words)}", "---"]
    for _ in range(draw(st.integers(1, 6))):
        lines += draw(block())
        if draw(blank):
            lines.append("")
    return "\n".join(lines) + "\n"


def oracle_task_lines(text: str) -> list[int]:
    return sorted(
        token.map[0] + 1
        for token in oracle.parse(text)
        if token.type == "list_item_open" and token.attrs.get("class") == "task-list-item"
    )


def importer_task_lines(text: str) -> list[int]:
    try:
        parsed = parse_checklist(text, fallback_name="Generated")
    except ChecklistParseError as exc:
        assert "no checkboxes found" in exc.message, exc.message
        return []
    lines = []
    for item in parsed.items():
        lines.append(item.line)
        lines.extend(sub.line for sub in item.subchecks)
    return sorted(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_the_importer_finds_exactly_the_task_items_github_renders(text):
    assert importer_task_lines(text) == oracle_task_lines(text)


def test_the_oracle_and_the_importer_agree_on_a_known_document():
    # A guard on the comparison itself: this document has three task items.
    text = "# R\n\n- [ ] one\n  - [x] two\n<!--\n- [ ] hidden\n-->\n> - [ ] three\n"

    assert oracle_task_lines(text) == importer_task_lines(text) == [3, 4, 8]
