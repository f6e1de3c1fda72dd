"""The deployment record in a real browser: fits a phone, prints without the page chrome."""

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_record_fits_a_phone_and_prints_without_navigation(
    open_as, worked, viewer, purge_audit_events
):
    page = open_as(viewer, f"/deployments/{worked.pk}/record/", width=375, height=812)

    expect(page.locator("h1")).to_contain_text("Autumn release")
    # Nothing wider than the phone: long tables scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    print_button = page.locator("[data-print]")
    expect(print_button).to_be_visible()  # record.js shows it; the CSP allowed the script
    expect(page.locator(".record-exports a", has_text="PDF")).to_be_visible()
    screenshot(page, "record-phone")

    page.emulate_media(media="print")
    expect(page.locator(".record-exports")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#audit .chain-ok")).to_be_visible()
    expect(page.locator(".record-item").first).to_be_visible()
    assert page.console_errors == []
