"""A thread in two browsers: a reply, an edit and a deletion made with the
keyboard reach the other viewer live."""

import pytest
from playwright.sync_api import expect

from deploychecks.runs.models import ItemNote
from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open(page, summary):
    summary.focus()
    page.keyboard.press("Enter")


def test_reply_edit_and_delete_reach_the_other_viewer_live(
    open_as, deployment, engineer, lead, first_item, purge_audit_events
):
    path = deployment.get_absolute_url()
    erin = open_as(engineer, path)
    lena = open_as(lead, path, width=375, height=812)
    for page in (erin, lena):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = f"#item-{first_item.pk}"
    for page in (erin, lena):  # each opens the item's line: its notes and forms
        page.locator(f"{row}-more > summary").click()

    _open(erin, erin.locator(f"{row}-note summary"))
    erin.fill(f"#note-{first_item.pk}", "Is the canary healthy?")
    erin.locator(f"{row}-note button[type=submit]").press("Enter")
    expect(lena.locator(f"{row} .notes-thread")).to_contain_text(
        "Is the canary healthy?", timeout=5_000
    )
    parent = ItemNote.objects.get(item=first_item)
    # Her own answer re-renders the row: the line she opened stays open.
    expect(erin.locator(f"{row}-more")).to_have_attribute("open", "")

    # Lena replies (keyboard only); Erin sees it, indented under the question.
    _open(lena, lena.locator(f"#thread-note-{parent.pk}-reply summary"))
    lena.keyboard.press("Tab")  # to the reply's text field
    expect(lena.locator(f"#reply-{parent.pk}")).to_be_focused()
    lena.keyboard.type("Yes, error rate flat.")
    lena.locator(f"#thread-note-{parent.pk}-reply button[type=submit]").press("Enter")
    reply = erin.locator(f"{row} .notes-thread .note-reply")
    expect(reply).to_contain_text("Yes, error rate flat.", timeout=5_000)
    # Edit and Delete are offered on one's own notes (and to the lead on all).
    answer = ItemNote.objects.get(reply_to=parent)
    expect(erin.locator(f"#thread-note-{answer.pk}-reply")).to_be_visible()
    expect(erin.locator(f"#thread-note-{answer.pk}-edit")).to_be_hidden()
    expect(erin.locator(f"#thread-note-{answer.pk}-delete")).to_be_hidden()
    expect(erin.locator(f"#thread-note-{parent.pk}-edit")).to_be_visible()
    expect(lena.locator(f"#thread-note-{parent.pk}-edit")).to_be_visible()

    # Erin edits her note; Lena sees the new text marked "edited".
    _open(erin, erin.locator(f"#thread-note-{parent.pk}-edit summary"))
    erin.fill(f"#edit-{parent.pk}", "Is the canary healthy at 10 %?")
    erin.locator(f"#thread-note-{parent.pk}-edit button[type=submit]").press("Enter")
    expect(lena.locator(f"#thread-note-{parent.pk}")).to_contain_text(
        "Is the canary healthy at 10 %?", timeout=5_000
    )
    expect(lena.locator(f"#thread-note-{parent.pk} .note-edited")).to_have_text("edited")

    # Erin deletes it; Lena sees the tombstone, the reply keeps its place.
    _open(erin, erin.locator(f"#thread-note-{parent.pk}-delete summary"))
    erin.locator(f"#thread-note-{parent.pk}-delete button[type=submit]").press("Enter")
    expect(lena.locator(f"#thread-note-{parent.pk}")).to_contain_text(
        "Note deleted by erin", timeout=5_000
    )
    expect(lena.locator(f"{row} .notes-thread")).not_to_contain_text("canary healthy")
    expect(lena.locator(f"{row} .notes-thread")).to_contain_text("Yes, error rate flat.")
    screenshot(lena, "note-thread-tombstone-phone")

    parent.refresh_from_db()
    assert parent.deleted_at is not None and parent.body == ""
    assert erin.console_errors == [] and lena.console_errors == []
