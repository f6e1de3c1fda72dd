"""Markdown export: the management command and the download link."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from tests.checklists.structure import structure

pytestmark = pytest.mark.django_db


def _export(*args) -> str:
    out = StringIO()
    call_command("export_checklist", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def test_it_prints_the_markdown_of_a_template_by_id(seed_revision, seed_parsed):
    markdown = _export(seed_revision.template_id)

    assert markdown.startswith("# Task 5.10: Production Deployment Checklist\n")
    assert structure(parse_checklist(markdown)) == structure(seed_parsed)


def test_it_finds_a_template_by_name(small_revision):
    markdown = _export("Small release")

    assert markdown.startswith("# Small release\n")
    assert "- [ ] **Announce the window** in the release channel" in markdown


def test_it_prints_an_older_revision_on_request(small_revision, small_markdown):
    edited = parse_checklist(small_markdown.replace("Freeze merges", "Freeze all merges"))
    save_template(edited, template=small_revision.template)

    latest = _export("Small release")
    first = _export("Small release", "--revision", "1")

    assert "Freeze all merges" in latest
    assert "Freeze all merges" not in first and "Freeze merges" in first


def test_an_unknown_template_is_a_command_error():
    with pytest.raises(CommandError, match="no template with id or name 'Nope'"):
        _export("Nope")


def test_the_download_link_returns_a_markdown_attachment(admin_client, seed_revision):
    url = f"/templates/{seed_revision.template_id}/r1/export.md"

    response = admin_client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith('-r1.md"')
    counts = parse_checklist(response.content).counts()
    assert (counts["phases"], counts["items"], counts["subchecks"], counts["contacts"]) == (
        6,
        89,
        27,
        5,
    )
    assert counts["step_minutes"] == [2, 5, 10, 5, 5, 3, 1]


def test_the_downloaded_file_imports_again_with_the_same_counts(
    admin_client, seed_revision, tmp_path
):
    path = tmp_path / "export.md"
    path.write_bytes(
        admin_client.get(f"/templates/{seed_revision.template_id}/r1/export.md").content
    )
    out = StringIO()

    call_command(
        "import_checklist", str(path), "--revision-of", str(seed_revision.template_id), stdout=out
    )

    assert "89 items" in out.getvalue() and "27 sub-checks" in out.getvalue()
    assert seed_revision.template.revisions.count() == 2


def test_the_download_link_needs_a_login(client, seed_revision):
    response = client.get(f"/templates/{seed_revision.template_id}/r1/export.md")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
