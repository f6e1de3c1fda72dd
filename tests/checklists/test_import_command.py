"""`manage.py import_checklist PATH [--dry-run] [--format json]`."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from deploychecks.checklists.models import (
    ChecklistTemplate,
    Contact,
    Item,
    Phase,
    Section,
    Step,
    SubCheck,
    TemplateRevision,
)
from deploychecks.checklists.parser import MAX_BYTES

pytestmark = pytest.mark.django_db

SEED_COUNTS = {
    "phases": 6,
    "steps": 7,
    "items": 89,
    "subchecks": 27,
    "signoff_roles": ["Engineering Manager", "DevOps Lead", "Product Manager", "QA Lead"],
    "contacts": 5,
    "step_minutes": [2, 5, 10, 5, 5, 3, 1],
}


def _import(*args) -> str:
    out = StringIO()
    call_command("import_checklist", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_dry_run_prints_the_seed_counts_as_json(seed_path):
    report = json.loads(_import(seed_path, "--dry-run", "--format", "json"))

    assert {key: report[key] for key in SEED_COUNTS} == SEED_COUNTS
    for key in ("phases", "sections", "steps", "items", "subchecks", "contacts"):
        assert type(report[key]) is int, key
    assert all(type(m) is int for m in report["step_minutes"])
    assert report["dry_run"] is True


def test_dry_run_saves_nothing(seed_path):
    _import(seed_path, "--dry-run", "--format", "json")

    assert ChecklistTemplate.objects.count() == 0
    assert TemplateRevision.objects.count() == 0
    assert Item.objects.count() == 0


def test_dry_run_in_text_format_says_nothing_was_saved(seed_path):
    output = _import(seed_path, "--dry-run")

    assert "dry run, nothing saved" in output
    assert "89 items" in output and "27 sub-checks" in output
    assert ChecklistTemplate.objects.count() == 0


def test_import_saves_the_seed_with_the_same_counts(seed_path):
    report = json.loads(_import(seed_path, "--format", "json"))

    revision = TemplateRevision.objects.get(template_id=report["template_id"], number=1)
    items = Item.objects.filter(phase__revision=revision)
    assert Phase.objects.filter(revision=revision).count() == 6
    assert Section.objects.filter(phase__revision=revision).count() == report["sections"]
    assert items.count() == 89
    assert SubCheck.objects.filter(item__in=items).count() == 27
    steps = Step.objects.filter(phase__revision=revision).order_by("phase__position", "position")
    assert [s.minutes for s in steps] == [2, 5, 10, 5, 5, 3, 1]
    assert list(revision.signoff_roles.order_by("position").values_list("name", flat=True)) == [
        "Engineering Manager",
        "DevOps Lead",
        "Product Manager",
        "QA Lead",
    ]
    assert Contact.objects.filter(revision=revision).count() == 5
    assert revision.source_markdown.startswith("# Task 5.10")
    assert report["dry_run"] is False and report["revision"] == 1


def test_it_adds_a_revision_to_an_existing_template(seed_path):
    first = json.loads(_import(seed_path, "--format", "json"))

    second = json.loads(
        _import(seed_path, "--revision-of", first["template_id"], "--format", "json")
    )

    assert (second["template_id"], second["revision"]) == (first["template_id"], 2)
    assert TemplateRevision.objects.filter(template_id=first["template_id"]).count() == 2


def test_it_refuses_a_second_template_with_the_same_name(seed_path):
    _import(seed_path)

    with pytest.raises(CommandError, match="already exists"):
        _import(seed_path)

    assert ChecklistTemplate.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"# R\n\n## Go\n\nNo boxes here.\n", "no checkboxes found"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"# R\n\n## Go\n\nText.\n\n    - [ ] code\n", "no checkboxes found"),
        (b"# R\n\n## Go\n\n- [ ]\n", "no checkboxes found"),
        (b"# R\n\n## Go\n\n- [ ] " + b"x" * 501 + b"\n", "line 5: the item title"),
    ],
    ids=["empty", "whitespace", "no-checkboxes", "binary", "indented-code", "no-text", "too-long"],
)
def test_bad_files_raise_a_command_error_and_save_nothing(tmp_path, content, message):
    path = tmp_path / "bad.md"
    path.write_bytes(content)

    with pytest.raises(CommandError) as caught:
        _import(path)

    assert message in str(caught.value)
    assert ChecklistTemplate.objects.count() == 0


def test_a_file_over_one_megabyte_is_refused(tmp_path):
    path = tmp_path / "huge.md"
    path.write_bytes(b"# R\n\n## Go\n\n- [ ] Ship\n" + b"x" * MAX_BYTES)

    with pytest.raises(CommandError, match=r"limit is 1,000,000 bytes \(1 MB\)"):
        _import(path)

    assert ChecklistTemplate.objects.count() == 0


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        _import(tmp_path / "missing.md")
