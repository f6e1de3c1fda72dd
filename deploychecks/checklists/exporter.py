"""Write a template back to Markdown that `parser.parse_checklist` reads again
into the same structure (the round trip is tested with generated templates)."""

from deploychecks.checklists.parser import (
    ParsedItem,
    ParsedSection,
    ParsedSignal,
    ParsedStep,
    ParsedTemplate,
)
from deploychecks.checklists.parser.keys import slug_key
from deploychecks.checklists.parser.owners import with_trailing
from deploychecks.checklists.parser.text import EVIDENCE_MARKER

SIGNALS_HEADING = "Go/no-go signals"


def indent(text: str, pad: str) -> list[str]:
    return [f"{pad}{line}" if line.strip() else "" for line in text.splitlines()]


def heading(title: str, timing: str, owners=()) -> str:
    text = f"{title} ({timing})" if timing else title
    return with_trailing(text, owners, None)


def item_due(item) -> tuple[int, str] | None:
    return (item.due_minutes, item.due_anchor) if item.due_anchor else None


def item_lines(item, pad: str, *, done: bool = False, subchecks=(), key: str = "") -> list[str]:
    """An item's checkbox line and its details, then `subchecks` as (title, done) pairs.

    `key` is written as `<!-- key: … -->` on the first line (hidden on GitHub).

    Also used by the deployment export (history.exports), which ticks the boxes.
    """
    head = f"{pad}- [{'x' if done else ' '}] **{item.title}**"
    summary = item.summary
    if not item.required:
        summary = f"{summary} (optional)".strip()
    if summary:
        head += f" {summary}"
    if getattr(item, "evidence_required", False):
        head += f" {EVIDENCE_MARKER}"
    head = with_trailing(head, getattr(item, "owners", ()), item_due(item))
    if key:
        head += f" <!-- key: {key} -->"
    lines = [head]
    if item.details:
        lines.extend(indent(item.details, pad + "  "))
    lines.extend(f"{pad}  - [{'x' if sub_done else ' '}] {title}" for title, sub_done in subchecks)
    return lines


def _item_lines(item: ParsedItem, pad: str) -> list[str]:
    return item_lines(
        item, pad, subchecks=[(sub.title, False) for sub in item.subchecks], key=item.key
    )


def run_item_key(item) -> str:
    """The key a deployment's item export writes: only one its title's slug would
    not give again, so importing the export addresses the same items."""
    return item.key if item.key and item.key != slug_key(item.title) else ""


def step_lines(step, items, item_lines_of) -> list[str]:
    """A numbered step with its budget and notes, then `item_lines_of(item, pad)` per item."""
    budget = f" ({step.minutes} min)" if step.minutes is not None else ""
    marker = f"{step.number}."
    lines = [f"{marker} **{step.title}**{budget}"]
    # Children line up with the step's text, whose column depends on the number's width.
    pad = " " * (len(marker) + 1)
    if step.notes:
        lines.extend(indent(step.notes, pad))
    for item in items:
        lines.extend(item_lines_of(item, pad))
    return lines


def container_lines(notes: str, entries, entry_lines) -> list[str]:
    """A phase's or section's notes, then its entries, a blank line around each step.

    `entry_lines(entry)` gives an entry's lines and whether it is a step.
    Also used by the deployment export (history.exports).
    """
    lines: list[str] = []
    if notes:
        lines += [notes, ""]
    previous_is_step = None
    for entry in entries:
        entry_text, is_step = entry_lines(entry)
        if previous_is_step is not None and (is_step or previous_is_step):
            lines.append("")
        lines += entry_text
        previous_is_step = is_step
    if entries:
        lines.append("")
    return lines


def _entry_lines(entry) -> tuple[list[str], bool]:
    if isinstance(entry, ParsedStep):
        return step_lines(entry, entry.items, _item_lines), True
    return _item_lines(entry, ""), False


def _container_lines(container: ParsedSection) -> list[str]:
    return container_lines(container.notes, container.entries, _entry_lines)


def _number(value: float) -> str:
    """The shortest text that reads back as the same float: 0.5, 1000, 1e-07."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _bound(signal: ParsedSignal, value: float | None, inclusive: bool) -> str:
    if value is None:
        return "—"
    if signal.direction == "above":
        op = "≥" if inclusive else ">"
    else:
        op = "≤" if inclusive else "<"
    return f"{op} {_number(value)} {signal.unit}".rstrip()


def _green(signal: ParsedSignal) -> str:
    """Green is what lies before the first bound, e.g. '< 0.5 %' before '≥ 0.5 %'."""
    bound, inclusive = signal.yellow_at, signal.yellow_inclusive
    if bound is None:
        bound, inclusive = signal.red_at, signal.red_inclusive
    if bound is None:
        return "—"
    if signal.direction == "above":
        op = "<" if inclusive else "≤"
    else:
        op = ">" if inclusive else "≥"
    return f"{op} {_number(bound)} {signal.unit}".rstrip()


def signal_row(signal: ParsedSignal) -> str:
    """One row of the go/no-go table, in the form the importer reads."""
    if signal.kind == "boolean":
        green, yellow, red = "no", "—", "yes"
    else:
        green = _green(signal)
        yellow = _bound(signal, signal.yellow_at, signal.yellow_inclusive)
        red = _bound(signal, signal.red_at, signal.red_inclusive)
    if signal.sustained_minutes is not None:
        red += f" (rollback if sustained > {signal.sustained_minutes} minutes)"
    return f"| {signal.name} | {green} | {yellow} | {red} |"


def signals_lines(signals) -> list[str]:
    if not signals:
        return []
    lines = [f"## {SIGNALS_HEADING}", "", "| Signal | Green | Yellow | Red |", "|---|---|---|---|"]
    return lines + [signal_row(s) for s in signals] + [""]


def export_markdown(template: ParsedTemplate) -> str:
    lines = [f"# {template.name}", ""]
    if template.description:
        lines += [template.description, ""]
    for note in (n for n in template.notes if n.before_phases):
        lines += [f"## {note.title}", "", note.body, ""] if note.body else [f"## {note.title}", ""]
    for phase in template.phases:
        lines += [f"## {heading(phase.title, phase.timing_label)}", ""]
        lines += _container_lines(phase)
        for section in phase.sections:
            lines += [f"### {heading(section.title, section.timing_label, section.owners)}", ""]
            lines += _container_lines(section)
    lines += signals_lines(template.signals)
    if template.contacts:
        lines += [
            "## Contacts and escalation",
            "",
            "| Role | Person | Phone | Chat |",
            "|---|---|---|---|",
        ]
        lines += [f"| {c.role} | {c.person} | {c.phone} | {c.handle} |" for c in template.contacts]
        lines.append("")
    if template.signoff_roles:
        lines += ["## Approval sign-off", ""]
        lines += [f"- [ ] **{role}**: signature and date" for role in template.signoff_roles]
        lines.append("")
    for note in (n for n in template.notes if not n.before_phases):
        lines += [f"## {note.title}", "", note.body, ""] if note.body else [f"## {note.title}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
