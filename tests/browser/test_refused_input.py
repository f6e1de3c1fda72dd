"""A note refused for a NUL character: the page says why, keeps the text, saves nothing."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_note_with_a_nul_is_refused_with_a_message_and_kept(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open]")).to_have_count(1, timeout=10_000)
    row = f"#item-{first_item.pk}"
    page.locator(f"{row}-more > summary").click()  # the line opens: details, notes, N/A
    page.locator(f"{row}-note summary").click()
    page.fill(f"#note-{first_item.pk}", "Pasted \x00 from a log")
    page.locator(f"{row}-note button[type=submit]").click()

    banner = page.locator("#refused-banner[role=alert]")
    expect(banner).to_contain_text("NUL character")
    expect(banner).to_contain_text("Nothing was saved")
    assert "Pasted" in page.input_value(f"#note-{first_item.pk}")  # what was typed is kept
    assert first_item.notes.count() == 0
    # The browser logs every 4xx answer; nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
