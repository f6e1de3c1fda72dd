"""Validation errors show in the page, and what was typed stays (issue 12 §4):
an N/A reason of only spaces, a note over the limit (with its live counter, never
cut at 2,000 characters) and a 5 MB paste into Import."""

import pytest
from playwright.sync_api import expect

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.runs.models import ItemNote, RunItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _live(page):
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)


def _paste(page, head: str, line: str, times: int) -> int:
    """Put a large text in the import field as a paste does (one input event);
    made in the page, as Playwright's fill types megabytes too slowly."""
    return page.eval_on_selector(
        "#id_markdown_text",
        """(el, [head, line, times]) => {
            el.value = head + line.repeat(times);
            const paste = {bubbles: true, inputType: "insertFromPaste"};
            el.dispatchEvent(new InputEvent("input", paste));
            return el.value.length;
        }""",
        [head, line, times],
    )


def _first_row(page, deployment):
    item = deployment.items.order_by("phase__position", "position").first()
    return item, page.locator(f"#item-{item.pk}")


def test_an_na_reason_of_only_spaces_is_refused_in_the_row_and_kept(
    open_as, deployment, engineer, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    _live(page)
    item, row = _first_row(page, deployment)

    row.locator(".item-more > summary").click()  # the line opens: details, notes, N/A
    row.locator("summary", has_text="Mark N/A").click()
    row.locator(".na-form textarea").fill("     ")
    row.locator(".na-form button[type=submit]").click()

    row = page.locator(f"#item-{item.pk}")
    expect(row.locator(".item-error")).to_have_text(
        "Marking an item N/A needs a reason (spaces alone are not one)."
    )
    expect(row.locator(".na-form textarea")).to_have_value("     ")
    expect(row.locator(".na-form textarea")).to_be_focused()
    item.refresh_from_db()
    assert item.state == RunItem.State.OPEN


def test_a_note_over_the_limit_is_counted_refused_and_kept_whole(
    open_as, deployment, engineer, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    _live(page)
    item, row = _first_row(page, deployment)
    note = row.locator(".note-form textarea")
    counter = page.locator(f"#note-{item.pk}-count")

    row.locator(".item-more > summary").click()  # the line opens: details, notes, N/A
    row.locator("summary", has_text="Add note").click()
    expect(counter).to_have_text("0 / 2,000")
    expect(counter).to_have_attribute("aria-live", "polite")
    note.fill("n" * 1980)
    expect(counter).to_have_text("1,980 / 2,000")
    text = "x" * 2050
    note.fill(text)  # as a paste: nothing cuts it at 2,000
    expect(counter).to_have_text("2,050 / 2,000: 50 over the limit")
    expect(note).to_have_value(text)
    row.locator(".note-form button[type=submit]").click()

    row = page.locator(f"#item-{item.pk}")
    expect(row.locator(".item-error")).to_contain_text(
        "This note is 2,050 characters long; a note can be at most 2,000."
    )
    expect(row.locator(".note-form textarea")).to_have_value(text)
    expect(page.locator(f"#note-{item.pk}-count")).to_have_text("2,050 / 2,000: 50 over the limit")
    assert not ItemNote.objects.exists()


def test_a_5_mb_paste_into_import_is_not_sent_and_stays(open_as, admin_user, purge_audit_events):
    page = open_as(admin_user, "/templates/import/")
    length = _paste(
        page, "# Huge\n\n## Go\n\n", "- [ ] An item to check before going live\n", 125_000
    )
    assert length > 5_000_000

    page.click("button[value=preview]")

    alert = page.locator("main form .form-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("the limit is 1,000,000 bytes")
    expect(alert).to_have_attribute("role", "alert")
    assert page.eval_on_selector("#id_markdown_text", "el => el.value.length") == length
    expect(page.locator("#preview")).to_have_count(1)
    # Shortened, it previews as usual: the page still works.
    page.fill("#id_markdown_text", "# Small\n\n## Go\n\n- [ ] Ship\n")
    page.click("button[value=preview]")
    expect(page.locator("#preview")).to_contain_text("Preview: Small")
    assert ChecklistTemplate.objects.filter(name="Huge").count() == 0


def test_a_bare_400_leaves_the_import_form_and_its_preview_working(
    open_as, admin_user, purge_audit_events
):
    """A request Django refuses before any view (over DATA_UPLOAD_MAX_MEMORY_SIZE:
    "Bad Request (400)", no #preview in it) is said in the form; the text and
    #preview stay. Played by the route, as a 5 MB upload takes Chromium too long."""
    page = open_as(admin_user, "/templates/import/")
    page.route(
        "**/templates/import/",
        lambda route: route.fulfill(
            status=400, content_type="text/html", body="<h1>Bad Request (400)</h1>"
        ),
    )
    text = "# Release\n\n## Go\n\n- [ ] Ship\n"

    page.fill("#id_markdown_text", text)
    page.click("button[value=preview]")

    expect(page.locator("main form .form-alert")).to_have_text(
        "Not sent: Bad Request (400) Your text is still in the form."
    )
    expect(page.locator("#id_markdown_text")).to_have_value(text)
    expect(page.locator("#preview")).to_have_count(1)
