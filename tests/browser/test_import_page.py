"""The import page in a real browser: htmx shows errors and previews in place,
and imported markup never runs."""

import pytest
from playwright.sync_api import expect

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from tests.checklists.conftest import HOSTILE_MARKDOWN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_preview_shows_the_error_line_then_the_structure(open_as, admin_user, purge_audit_events):
    page = open_as(admin_user, "/templates/import/")

    page.fill("#id_markdown_text", "# Release\n\n## Go\n\n- [ ] " + "x" * 501 + "\n")
    page.click("button[value=preview]")
    expect(page.locator("#preview")).to_contain_text("Line 5: the item title")
    page.fill(
        "#id_markdown_text",
        "# Release\n\n## Go\n\n- [ ] Ship\n<!--\n- [ ] example\n-->\n\n    - [ ] code\n",
    )
    page.click("button[value=preview]")

    preview = page.locator("#preview")
    expect(preview).to_contain_text("Preview: Release")
    expect(preview).not_to_contain_text("Line 5")
    expect(preview.locator("#ignored tr", has_text="HTML comment")).to_contain_text("6–8")
    expect(preview.locator("#ignored tr", has_text="indented code")).to_contain_text("10")
    assert ChecklistTemplate.objects.count() == 0


def test_imported_markup_does_not_run(open_as, admin_user, purge_audit_events):
    revision = save_template(parse_checklist(HOSTILE_MARKDOWN))
    page = open_as(admin_user, f"/templates/{revision.template_id}/")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.reload()

    expect(page.locator("h1")).to_have_text("Hostile <script>alert(1)</script>")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("main script, main img").count() == 0
