"""The Markdown parsing rules of issue 2, on the seed, the default template and small inputs."""

import pytest

from deploychecks.checklists import models
from deploychecks.checklists.parser import (
    MAX_BYTES,
    MAX_LENGTHS,
    ChecklistParseError,
    ParsedStep,
    parse_checklist,
    repair_mojibake,
)

SEED_STEP_MINUTES = [2, 5, 10, 5, 5, 3, 1]
SEED_ROLES = ["Engineering Manager", "DevOps Lead", "Product Manager", "QA Lead"]


def _items(parsed):
    return list(parsed.items())


def _item(parsed, title):
    return next(i for i in parsed.items() if i.title == title)


# --- The seed and the default template ----------------------------------------------


def test_it_counts_the_seed_exactly(seed_parsed):
    counts = seed_parsed.counts()

    assert counts["phases"] == 6
    assert counts["items"] == 89
    assert counts["subchecks"] == 27
    assert counts["steps"] == 7
    assert counts["step_minutes"] == SEED_STEP_MINUTES
    assert counts["signoff_roles"] == SEED_ROLES
    assert counts["contacts"] == 5


def test_it_keeps_the_seed_phases_in_order_with_timing_labels(seed_parsed):
    phases = [(p.title, p.timing_label) for p in seed_parsed.phases]

    assert phases == [
        ("Phase 1: Pre-Deployment Verification", "48 hours before"),
        ("Phase 2: Deployment Execution", "Day 1 - 4-6 hour window"),
        ("Phase 3: Post-Deployment Validation", "Immediately after"),
        ("Phase 4: Stabilization Period", "First 24 hours"),
        ("Phase 5: Extended Monitoring", "72 hours"),
        ("Rollback Procedure", "If Needed"),
    ]


def test_it_reads_the_seed_rollback_steps_as_numbered_steps(seed_parsed):
    rollback = seed_parsed.phases[-1]
    steps_section = next(s for s in rollback.sections if s.title == "Rollback Steps")

    steps = [e for e in steps_section.entries if isinstance(e, ParsedStep)]

    assert [(s.number, s.title, s.minutes) for s in steps] == [
        (1, "Decision & Communication", 2),
        (2, "Prepare Systems", 5),
        (3, "Database Rollback", 10),
        (4, "Backend Rollback", 5),
        (5, "Frontend Rollback", 5),
        (6, "Verification", 3),
        (7, "Communication", 1),
    ]
    assert [len(s.items) for s in steps] == [3, 3, 4, 4, 3, 3, 3]


def test_it_keeps_the_seed_contacts_and_notes(seed_parsed):
    contacts = seed_parsed.contacts
    note_titles = [n.title for n in seed_parsed.notes]

    assert [c.role for c in contacts] == [
        "Deployment Lead",
        "Backend Lead",
        "Frontend Lead",
        "DevOps Lead",
        "Executive Sponsor",
    ]
    assert contacts[0].handle == "@name"
    assert note_titles == [
        "Overview",
        "Quick Reference",
        "Success Criteria",
        "Files & Resources",
        "Final Notes",
    ]
    assert seed_parsed.metadata == {
        "time_required": "4-6 hours (including monitoring)",
        "rollback_time": "30 minutes",
    }


def test_it_repairs_the_seed_mojibake(seed_parsed):
    item = _item(seed_parsed, "Performance benchmarks validated")
    all_text = "\n".join(
        [i.details for i in seed_parsed.items()] + [n.body for n in seed_parsed.notes]
    )

    assert "Bundle size: 178 KB (v2.0.0 target) ✅" in item.details
    assert "âœ…" not in all_text
    assert "v1.1.0 → v2.0.0" in all_text
    assert "ðŸš€" not in all_text and "🚀" in all_text


def test_it_parses_the_default_template(default_template_path):
    parsed = parse_checklist(default_template_path.read_bytes())
    counts = parsed.counts()

    assert parsed.name == "Production deployment"
    assert counts["phases"] == 6
    assert counts["steps"] == 7
    assert counts["step_minutes"] == SEED_STEP_MINUTES
    assert counts["signoff_roles"] == SEED_ROLES
    assert counts["contacts"] == 5


# --- Parsing rules ------------------------------------------------------------------


def test_it_accepts_crlf_bom_and_tabs():
    source = "\ufeff# Release\r\n\r\n## Go\r\n\r\n- [ ] **Ship**\r\n\t- [ ] Tag it\r\n"

    parsed = parse_checklist(source.encode("utf-8"))

    assert parsed.name == "Release"
    assert [(i.title, [s.title for s in i.subchecks]) for i in parsed.items()] == [
        ("Ship", ["Tag it"]),
    ]


@pytest.mark.parametrize("indent", ["  ", "    ", "\t"])
def test_it_nests_sub_checks_at_any_indent(indent):
    source = f"# R\n\n## Go\n\n- [ ] Ship\n{indent}- [ ] Tag it\n{indent}- [ ] Push it\n"

    parsed = parse_checklist(source)

    (item,) = _items(parsed)
    assert [s.title for s in item.subchecks] == ["Tag it", "Push it"]


def test_it_accepts_mixed_list_markers_and_checked_boxes():
    source = "# R\n\n## Go\n\n- [ ] dash\n* [x] star\n+ [X] plus\n1. [ ] numbered\n"

    parsed = parse_checklist(source)

    assert [i.title for i in parsed.items()] == ["dash", "star", "plus", "numbered"]


def test_it_takes_the_bold_text_as_title_and_the_rest_as_summary():
    source = "# R\n\n## Go\n\n- [ ] **Backups verified** within the last 24 hours\n"

    (item,) = _items(parse_checklist(source))

    assert item.title == "Backups verified"
    assert item.summary == "within the last 24 hours"


def test_it_takes_the_whole_line_as_title_without_bold():
    source = "# R\n\n## Go\n\n- [ ] Backups verified within the last 24 hours\n"

    (item,) = _items(parse_checklist(source))

    assert item.title == "Backups verified within the last 24 hours"
    assert item.summary == ""


def test_it_marks_optional_items():
    source = "# R\n\n## Go\n\n- [ ] **Warm the cache** (optional)\n- [ ] **Ship**\n"

    items = _items(parse_checklist(source))

    assert [(i.title, i.required, i.summary) for i in items] == [
        ("Warm the cache", False, ""),
        ("Ship", True, ""),
    ]


@pytest.mark.parametrize(
    ("budget", "minutes"),
    [("(2 min)", 2), ("(15 minutes)", 15), ("(1 hour)", 60), ("(3 hours)", 180)],
)
def test_it_reads_step_budgets(budget, minutes):
    source = f"# R\n\n## Go\n\n1. **Switch over** {budget}\n   - [ ] Flip the flag\n"

    (step,) = parse_checklist(source).steps()

    assert (step.number, step.title, step.minutes) == (1, "Switch over", minutes)
    assert [i.title for i in step.items] == ["Flip the flag"]


def test_it_reads_a_budget_in_a_plain_step_title():
    source = "# R\n\n## Go\n\n2. Switch over (10 minutes)\n   - [ ] Flip the flag\n"

    (step,) = parse_checklist(source).steps()

    assert (step.number, step.title, step.minutes) == (2, "Switch over", 10)


def test_it_keeps_a_step_without_a_budget():
    source = "# R\n\n## Go\n\n- **Switch over**\n  - [ ] Flip the flag\n"

    (step,) = parse_checklist(source).steps()

    assert (step.title, step.minutes) == ("Switch over", None)


def test_it_keeps_plain_list_items_under_a_checkbox_as_details():
    source = (
        "# R\n\n## Go\n\n- [ ] **Smoke test**\n  - Sign in works\n  - Search works\n"
        "  Check both regions.\n"
    )

    (item,) = _items(parse_checklist(source))

    assert item.details == "- Sign in works\n- Search works\nCheck both regions."
    assert item.subchecks == []


def test_it_keeps_details_in_document_order_around_sub_checks():
    source = (
        "# R\n\n## Go\n\n- [ ] **Smoke test**\n  First read the runbook.\n"
        "  - [ ] Sign in\n  - Note the latency\n  Then report.\n"
    )

    (item,) = _items(parse_checklist(source))

    assert item.details == "First read the runbook.\n- Note the latency\nThen report."
    assert [s.title for s in item.subchecks] == ["Sign in"]


def test_it_lets_a_phase_hold_items_without_a_section():
    source = "# R\n\n## Go (today)\n\nSome context.\n\n- [ ] Ship\n\n### Later\n\n- [ ] Watch\n"

    (phase,) = parse_checklist(source).phases

    assert (phase.title, phase.timing_label, phase.notes) == ("Go", "today", "Some context.")
    assert [e.title for e in phase.entries] == ["Ship"]
    assert [(s.title, [e.title for e in s.entries]) for s in phase.sections] == [
        ("Later", ["Watch"]),
    ]


def test_it_treats_a_section_heading_before_any_phase_as_a_phase():
    source = "# R\n\n### Warm-up (1 hour before)\n\n- [ ] Stretch\n"

    (phase,) = parse_checklist(source).phases

    assert (phase.title, phase.timing_label, phase.sections) == ("Warm-up", "1 hour before", [])


def test_it_keeps_blocks_without_checkboxes_as_notes():
    source = (
        "# R\n\n## Overview\n\nWhy we do this.\n\n## Go\n\n- [ ] Ship\n\n"
        "## Final Notes\n\n- Stay calm\n- Roll back early\n"
    )

    parsed = parse_checklist(source)

    assert [p.title for p in parsed.phases] == ["Go"]
    assert [(n.title, n.body, n.before_phases) for n in parsed.notes] == [
        ("Overview", "Why we do this.", True),
        ("Final Notes", "- Stay calm\n- Roll back early", False),
    ]


def test_it_turns_sign_off_checkboxes_into_roles():
    source = (
        "# R\n\n## Go\n\n- [ ] Ship\n\n## Approval Sign-Off\n\n"
        "- [ ] **Engineering Manager**: ________ Date: ____\n- [ ] **QA Lead:** ____\n"
        "- [ ] **Engineering Manager**: again\n"
    )

    parsed = parse_checklist(source)

    assert parsed.signoff_roles == ["Engineering Manager", "QA Lead"]
    assert [p.title for p in parsed.phases] == ["Go"]
    assert parsed.counts()["items"] == 1


def test_it_turns_a_contacts_table_into_contacts():
    source = (
        "# R\n\n## Go\n\n- [ ] Ship\n\n## Contact & Escalation\n\n"
        "| Role | Person | Phone | Slack |\n|---|---|---|---|\n"
        "| **Release lead** | Ana | +44 20 7946 0000 | @ana |\n| DBA | Bo | | @bo |\n"
    )

    contacts = parse_checklist(source).contacts

    assert [(c.role, c.person, c.phone, c.handle) for c in contacts] == [
        ("Release lead", "Ana", "+44 20 7946 0000", "@ana"),
        ("DBA", "Bo", "", "@bo"),
    ]


def test_it_reads_template_metadata_from_a_notes_block():
    source = (
        "# R\n\n## Quick Reference\n\n**Time Required**: 2 hours\n**Rollback Time**: 10 minutes\n"
        "\n## Go\n\n- [ ] Ship\n"
    )

    parsed = parse_checklist(source)

    assert parsed.metadata == {"time_required": "2 hours", "rollback_time": "10 minutes"}


def test_it_repairs_windows_1252_mojibake():
    assert repair_mojibake("Done âœ…") == "Done ✅"
    assert repair_mojibake("v1 â†’ v2") == "v1 → v2"
    assert repair_mojibake("café, naïve — fine") == "café, naïve — fine"


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        (b"", "empty", None),
        (b"  \n\t\n   \n", "empty", None),
        (b"# R\n\n## Go\n\nJust prose, no boxes.\n", "no checkboxes found", None),
        (b"# R\n\n## Go\n\n- [ ] ok\x00\x01\x02\n", "binary", None),
        # Four spaces after a heading start an indented code block: no task there.
        (b"# R\n\n## Go\n\n### Part\n    - [ ] code\n", "no checkboxes found", None),
        # "[ ]" with nothing after it is text on GitHub, not a task.
        (b"# R\n\n## Go\n\n- [ ]\n", "no checkboxes found", None),
        (b"# R\n\n## Sign-off\n\n- [ ] **QA**\n", "no phase holds a checkbox item", None),
        (b"\xff\xfe# \x00R\x00\n\x00\x00\xd8", "UTF-16 with BOM", None),
    ],
    ids=[
        "empty",
        "whitespace",
        "no-checkboxes",
        "binary",
        "only-indented-code",
        "only-an-empty-checkbox",
        "only-sign-off-roles",
        "broken-utf16",
    ],
)
def test_it_rejects_bad_input_with_a_clear_message(source, message, line):
    with pytest.raises(ChecklistParseError) as caught:
        parse_checklist(source)

    assert message in caught.value.message
    assert caught.value.line == line
    if line:
        assert str(caught.value).startswith(f"line {line}: ")


def test_it_rejects_a_file_over_one_megabyte():
    source = b"# R\n\n## Go\n\n- [ ] Ship\n" + b"x" * MAX_BYTES

    with pytest.raises(ChecklistParseError) as caught:
        parse_checklist(source)

    assert "limit is 1,000,000 bytes (1 MB)" in caught.value.message


def test_it_rejects_an_overlong_title_with_its_line():
    source = "# R\n\n## Go\n\n- [ ] Ship\n- [ ] " + "x" * 501 + "\n"

    with pytest.raises(ChecklistParseError) as caught:
        parse_checklist(source)

    assert caught.value.line == 6
    assert "item title" in caught.value.message and "limit is 500" in caught.value.message


def test_it_rejects_a_step_budget_too_large_to_store():
    source = "# R\n\n## Go\n\n1. **Wait** (99999999999 hours)\n   - [ ] Ship\n"

    with pytest.raises(ChecklistParseError) as caught:
        parse_checklist(source)

    assert caught.value.line == 5
    assert "too large" in caught.value.message


@pytest.mark.parametrize(
    ("what", "model", "field"),
    [
        ("phase title", models.Phase, "title"),
        ("section title", models.Section, "title"),
        ("step title", models.Step, "title"),
        ("timing label", models.Phase, "timing_label"),
        ("timing label", models.Section, "timing_label"),
        ("item title", models.Item, "title"),
        ("item summary", models.Item, "summary"),
        ("sub-check", models.SubCheck, "title"),
        ("sign-off role", models.SignoffRole, "name"),
        ("contact role", models.Contact, "role"),
        ("contact person", models.Contact, "person"),
        ("contact phone", models.Contact, "phone"),
        ("contact chat handle", models.Contact, "handle"),
        ("note title", models.TemplateNote, "title"),
    ],
)
def test_parser_limits_match_the_database_columns(what, model, field):
    assert MAX_LENGTHS[what] == model._meta.get_field(field).max_length


@pytest.mark.parametrize(
    ("line", "role"),
    [
        ("- [ ] **QA Lead**: signature and date", "QA Lead"),
        ("- [ ] **QA Lead:** ____", "QA Lead"),
        ("- [ ] **Change board: CAB**: signed", "Change board: CAB"),
        ("- [ ] **:**: signature and date", ":"),
        ("- [ ] Release manager — signs off the notes", "Release manager"),
    ],
)
def test_a_sign_off_role_is_named_as_written(line, role):
    parsed = parse_checklist(f"# R\n\n## Go\n\n- [ ] Ship\n\n## Sign-off\n\n{line}\n")

    assert parsed.signoff_roles == [role]
