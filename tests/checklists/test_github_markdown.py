"""Issue 14: the ten minimal files that used to import wrongly, each through
`import_checklist --dry-run --format json`, read as GitHub renders them."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from deploychecks.checklists.parser import parse_checklist

pytestmark = pytest.mark.django_db


def _import(tmp_path, content: str | bytes, name="checklist.md") -> dict:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    out = StringIO()
    call_command("import_checklist", str(path), "--dry-run", "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def _ignored(report: dict) -> list[tuple[int, str]]:
    return [(entry["line"], entry["what"]) for entry in report["ignored"]]


# 1. Multi-line HTML comments ---------------------------------------------------------------

COMMENTED = """\
## Phase A
- [ ] real
<!--
- [ ] hidden
## Hidden
-->
"""


def test_1_a_multi_line_html_comment_hides_its_items_and_headings(tmp_path):
    report = _import(tmp_path, COMMENTED)

    assert (report["phases"], report["items"]) == (1, 1)
    assert (3, "HTML comment") in _ignored(report)


def test_1_a_comment_that_opens_mid_line_hides_what_github_hides(tmp_path):
    # Inside one paragraph a comment may span lines: hidden from the title and details.
    source = "# R\n\n## A\n\n- [ ] real <!-- a note\n  for the author --> today\n"
    # A list item interrupts the paragraph, so GitHub shows it: we do too, and say why.
    unclosed = "# R\n\n## A\n\n- [ ] real\n\nText <!-- starts\n- [ ] shown on GitHub\n-->\n"

    (item,) = parse_checklist(source).items()
    report = _import(tmp_path, unclosed)

    assert (item.title, item.details) == ("real today", "")
    assert report["items"] == 2
    assert (7, "unclosed comment") in _ignored(report)


# 2. Setext headings --------------------------------------------------------------------------


def test_2_setext_headings_name_the_template_and_start_phases(tmp_path):
    source = "Release\n=======\n\nPhase\n-----\n- [ ] Ship\n\nLater\n-----\n\n- [ ] Watch\n"

    report = _import(tmp_path, source)
    parsed = parse_checklist(source)

    assert report["name"] == "Release"
    assert (report["phases"], report["items"]) == (2, 2)
    assert [p.title for p in parsed.phases] == ["Phase", "Later"]


# 3. Task items inside blockquotes ------------------------------------------------------------


def test_3_task_items_inside_a_blockquote_are_items(tmp_path):
    source = (
        "# R\n\n## Go\n\n> - [ ] quoted\n> - [ ] **also quoted** with a summary\n>   - [ ] sub\n"
    )

    report = _import(tmp_path, source)
    items = list(parse_checklist(source).items())

    assert (report["items"], report["subchecks"]) == (2, 1)
    assert [(i.title, i.summary) for i in items] == [
        ("quoted", ""),
        ("also quoted", "with a summary"),
    ]


# 4. Indented code blocks ---------------------------------------------------------------------


def test_4_an_indented_code_block_is_code_not_checkboxes(tmp_path):
    source = "# R\n\n## Go\n\n- [ ] real\n\nA paragraph.\n\n    - [ ] x\n"

    report = _import(tmp_path, source)
    (phase,) = parse_checklist(source).phases

    assert (report["items"], report["subchecks"]) == (1, 0)
    assert "    - [ ] x" in phase.notes  # still shown, as code
    assert any(what.startswith("indented code") for _, what in _ignored(report))


# 5. Templates without a '# Title' ------------------------------------------------------------


@pytest.mark.parametrize(
    ("front_matter", "name"),
    [
        ("name: Bug report\nabout: Tell us\ntitle: '[BUG] '\n", "Bug report"),
        ("title: Release checklist\n", "Release checklist"),
        ("labels: release\n", "Release issue"),  # neither: the file's name
    ],
    ids=["name", "title", "file-name"],
)
def test_5_a_template_without_a_title_is_named_by_its_front_matter(tmp_path, front_matter, name):
    source = f"---\n{front_matter}---\n\n## Checks\n\n- [ ] I searched existing issues\n"

    report = _import(tmp_path, source, name="release_issue.md")

    assert report["name"] == name
    assert report["items"] == 1
    assert (1, "front matter") in _ignored(report)


def test_5_a_title_heading_wins_over_front_matter():
    source = "---\nname: From front matter\n---\n# From the heading\n\n## A\n\n- [ ] x\n"

    assert parse_checklist(source).name == "From the heading"


# 6. Sign-offs under a heading with sub-headings ----------------------------------------------


def test_6_sign_off_sub_headings_hold_roles_named_without_markdown(tmp_path):
    source = (
        "# R\n\n## Work\n\n- [ ] do it\n\n## Deployment Sign-off\n\n### Technical Validation\n\n"
        "- [ ] **Database engineer approval** - DBA confirms\n- [ ] QA lead - signs the report\n"
        "\n### Business\n\n- [ ] Product owner: ________\n- [ ] *Support lead* (on call)\n"
    )

    report = _import(tmp_path, source)

    assert report["signoff_roles"] == [
        "Database engineer approval",
        "QA lead",
        "Product owner",
        "Support lead",
    ]
    assert (report["phases"], report["items"]) == (1, 1)


# 7. Step budgets as ranges -------------------------------------------------------------------


def test_7_a_budget_given_as_a_range_takes_its_upper_bound(tmp_path):
    source = (
        "# R\n\n## Rollback\n\n1. **Decide** (0-2 minutes)\n   - [ ] Call it\n"
        "2. Revert (1–2 hours)\n   - [ ] Redeploy\n"
    )

    report = _import(tmp_path, source)

    assert report["steps"] == 2
    assert report["step_minutes"] == [2, 120]


# 8. Contacts written as a bullet list --------------------------------------------------------


def test_8_a_contacts_list_gives_contacts_and_marks_placeholders(tmp_path):
    source = (
        "# R\n\n## Go\n\n- [ ] Ship\n\n## Contacts\n\n"
        "- DBA on call: Jane Doe <jane@example.com>\n"
        "- **Release lead**: Sam Lee <@sam> <+44 20 7946 0000>\n"
        "- Network: [Name] <[Phone]>\n"
        "- Just a remark without a colon\n"
    )

    report = _import(tmp_path, source)
    contacts = parse_checklist(source).contacts

    assert (report["contacts"], report["contacts_not_filled_in"]) == (3, 1)
    assert [(c.role, c.person, c.phone, c.handle, c.filled_in) for c in contacts] == [
        ("DBA on call", "jane@example.com", "", "", True),
        ("Release lead", "Sam Lee", "+44 20 7946 0000", "@sam", True),
        ("Network", "[Name]", "[Phone]", "", False),
    ]
    assert (12, "contact line") in _ignored(report)


def test_8_placeholders_in_a_contacts_table_are_marked_not_filled_in(seed_parsed):
    contacts = seed_parsed.contacts

    assert (contacts[0].person, contacts[0].phone, contacts[0].handle) == (
        "[Name]",
        "[Phone]",
        "@name",
    )
    assert not any(c.filled_in for c in contacts)


# 9. Windows-1252 -----------------------------------------------------------------------------


def test_9_a_windows_1252_file_is_read_and_says_so(tmp_path):
    source = b"# Caf\xe9 release\n\n## Go\n\n- [ ] \x93Smoke\x94 test \x96 quick\n"

    report = _import(tmp_path, source)
    (item,) = parse_checklist(source).items()

    assert report["encoding"] == "Windows-1252"
    assert report["name"] == "Café release"
    assert item.title == "“Smoke” test – quick"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("# Café\n\n## Go\n\n- [ ] ✅ ship\n".encode(), "UTF-8"),
        ("\ufeff# Café\n\n## Go\n\n- [ ] ✅ ship\n".encode(), "UTF-8 with BOM"),
        ("\ufeff# Café\n\n## Go\n\n- [ ] ✅ ship\n".encode("utf-16-le"), "UTF-16 with BOM"),
        ("\ufeff# Café\n\n## Go\n\n- [ ] ✅ ship\n".encode("utf-16-be"), "UTF-16 with BOM"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"],
)
def test_9_unicode_files_are_read_in_their_encoding(tmp_path, data, encoding):
    report = _import(tmp_path, data)
    (item,) = parse_checklist(data).items()

    assert (report["encoding"], report["name"], item.title) == (encoding, "Café", "✅ ship")


# 10. The go/no-go threshold table ------------------------------------------------------------


def test_10_the_seed_gives_its_counts_and_four_signals(tmp_path, seed_bytes):
    report = _import(tmp_path, seed_bytes)

    assert {k: report[k] for k in ("phases", "items", "subchecks", "steps", "contacts")} == {
        "phases": 6,
        "items": 89,
        "subchecks": 27,
        "steps": 7,
        "contacts": 5,
    }
    assert report["step_minutes"] == [2, 5, 10, 5, 5, 3, 1]
    assert len(report["signoff_roles"]) == 4
    assert report["signals"] == 4
    assert report["encoding"] == "UTF-8"
