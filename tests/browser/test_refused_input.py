"""Input refused before any view reads it (a NUL character, an upload over the
limit): the page says why at the item, keeps what was typed, saves nothing."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_note_with_a_nul_is_refused_with_a_message_and_kept(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = f"#item-{first_item.pk}"
    page.locator(f"{row}-more > summary").click()  # the line opens: details, notes, N/A
    page.locator(f"{row}-note summary").click()
    page.fill(f"#note-{first_item.pk}", "Pasted \x00 from a log")
    page.locator(f"{row}-note button[type=submit]").click()

    # Said at the item, where the person is, not at the top of a long page.
    said = page.locator(f"{row} .item-error[role=alert]")
    expect(said).to_contain_text("NUL character")
    expect(said).to_contain_text("Nothing was saved")
    expect(page.locator("#refused-banner")).to_have_count(0)
    assert "Pasted" in page.input_value(f"#note-{first_item.pk}")  # what was typed is kept
    assert first_item.notes.count() == 0
    # The browser logs every 4xx answer; nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_an_upload_over_the_limit_is_said_once_and_the_row_stays(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    """The 413 of deploychecks/evidence/upload_limit.py, played by the route (a real
    upload over 10 MB takes Chromium too long): the item says why, once (not
    "unexpected answer from the server"), and no banner at the page's top."""
    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = f"#item-{first_item.pk}"
    message = (
        "This upload is 11 MB; evidence files can be at most 10 MB. Nothing was read or saved."
    )
    page.route(
        f"**/items/{first_item.pk}/evidence/",
        lambda route: route.fulfill(
            status=413,
            content_type="text/html",
            headers={"HX-Reswap": "none", "X-Input-Refused": "too-large"},
            body=f'<p class="error refused-notice" role="alert">{message}</p>',
        ),
    )
    page.locator(f"{row}-more > summary").click()
    page.locator(f"{row}-evidence > summary").click()
    page.set_input_files(
        f"#evidence-file-{first_item.pk}",
        files=[{"name": "big.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n"}],
    )
    page.locator(f"{row}-evidence button[type=submit]").click()

    expect(page.locator(f"{row} .item-error[role=alert]")).to_have_text(message)
    expect(page.locator("#refused-banner")).to_have_count(0)
    expect(page.locator(f"#evidence-file-{first_item.pk}")).to_have_count(1)
    assert [e for e in page.console_errors if "status of 413" not in e] == []
