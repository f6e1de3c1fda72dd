"""Owners and due times in the Markdown: trailing `@owner` tokens and `(due …)`."""

import time

import pytest

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.parser import ChecklistParseError, parse_checklist

DOC = """# Release

## Phase 1: Prepare (48 hours before)

### Backend (1-2 hours) @backend-lead @"DevOps Lead"

- [ ] **Backups verified** before the window @dba @alice.b (due 2h after window start)
- [ ] **Tell @support about it**
- [ ] **Smoke tests** (optional) @lead (due 30m after phase start) <!-- key: smoke -->
- [ ] Rollback rehearsed @carol (due 1d before go-live)

## Contacts and escalation

| Role | Person | Phone | Chat |
|---|---|---|---|
| DevOps lead | @name | TBD | @name |

## Approval sign-off

- [ ] **DevOps Lead**: signature and date
"""


def _items(parsed):
    return list(parsed.items())


def test_trailing_tokens_become_owners_and_due_times():
    parsed = parse_checklist(DOC)
    backups, support, smoke, rollback = _items(parsed)

    assert (backups.title, backups.summary) == ("Backups verified", "before the window")
    assert backups.owners == ["dba", "alice.b"]
    assert (backups.due_minutes, backups.due_anchor) == (120, "window")
    assert (smoke.owners, smoke.due_minutes, smoke.due_anchor) == (["lead"], 30, "phase")
    assert smoke.key == "smoke" and smoke.required is False
    assert (rollback.title, rollback.owners) == ("Rollback rehearsed", ["carol"])
    assert (rollback.due_minutes, rollback.due_anchor) == (-1440, "go_live")


def test_a_mention_inside_a_title_is_not_an_owner():
    support = _items(parse_checklist(DOC))[1]

    assert support.title == "Tell @support about it"
    assert support.owners == []


def test_a_section_heading_names_owners_and_keeps_its_timing():
    section = parse_checklist(DOC).phases[0].sections[0]

    assert (section.title, section.timing_label) == ("Backend", "1-2 hours")
    assert section.owners == ["backend-lead", "devops-lead"]


def test_placeholder_contacts_stay_contacts():
    parsed = parse_checklist(DOC)

    assert parsed.contacts[0].person == "@name"
    assert parsed.contacts[0].filled_in is False


def test_a_lone_token_stays_the_title():
    parsed = parse_checklist("# T\n\n## P\n\n- [ ] @alice\n")

    item = _items(parsed)[0]
    assert (item.title, item.owners) == ("@alice", [])


@pytest.mark.parametrize("spec", ["(due soon)", "(due 2x after go-live)", "(due 2h after lunch)"])
def test_a_malformed_due_time_is_refused_with_its_line(spec):
    with pytest.raises(ChecklistParseError) as refused:
        parse_checklist(f"# T\n\n## P\n\n- [ ] **A**\n- [ ] **B** {spec}\n")

    assert refused.value.line == 6
    assert "due 2h after go-live" in refused.value.message


def test_export_writes_owners_and_due_times_back():
    markdown = export_markdown(parse_checklist(DOC))

    assert "### Backend (1-2 hours) @backend-lead @devops-lead" in markdown
    assert (
        "- [ ] **Backups verified** before the window @dba @alice.b (due 2h after window start)"
        in markdown
    )
    assert "- [ ] **Rollback rehearsed** @carol (due 1d before go-live)" in markdown
    assert (
        "- [ ] **Smoke tests** (optional) @lead (due 30m after phase start) <!-- key: smoke -->"
        in markdown
    )


@pytest.mark.parametrize("where", ["item", "heading"])
def test_a_huge_line_of_owners_is_refused_quickly(where):
    # 200 KB of "@a @a …": each tail search scans the line, so reading every
    # token was quadratic (72 s for 120 KB).
    tail = " @a" * 70_000
    line = f"### Backend{tail}" if where == "heading" else f"- [ ] **Backups**{tail}"
    started = time.monotonic()

    with pytest.raises(ChecklistParseError) as refused:
        parse_checklist(f"# T\n\n## P\n\n{line}\n- [ ] **B**\n")

    assert time.monotonic() - started < 1.0
    assert refused.value.message == "at most 10 owners per line"
    assert refused.value.line == 5


def test_ten_owners_are_read_and_eleven_refused():
    nine = " ".join(f"@u{n}" for n in range(9))
    item = _items(parse_checklist(f'# T\n\n## P\n\n- [ ] **A** {nine} @"QA Lead"\n'))[0]
    assert item.owners == [*(f"u{n}" for n in range(9)), "qa-lead"]

    with pytest.raises(ChecklistParseError, match="at most 10 owners per line"):
        parse_checklist(f"# T\n\n## P\n\n- [ ] **A** {nine} @u9 @u10\n")
