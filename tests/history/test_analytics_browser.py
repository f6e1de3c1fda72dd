"""The analytics page in a real browser: a 375 px phone, the CSP, htmx filtering
and the numbers reachable from the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from tests.audit.conftest import purge_audit_events  # noqa: F401  fixtures
from tests.browser.conftest import browser, live_server_url, open_as  # noqa: F401  fixtures
from tests.history.test_analytics import history, manager  # noqa: F401  fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_analytics_fits_a_phone_and_filters_without_a_reload(
    open_as, history, manager, purge_audit_events
):
    violations = []
    page = open_as(manager, "/analytics/", width=375, height=800)
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    expect(page.locator("#chart-rollback-rate")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("svg[role=img]").count() == 6

    page.select_option("#id_service", "billing")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/analytics/\?service=billing"))
    rows = page.locator("#rollback-rate tbody tr")
    expect(rows).to_have_count(1)

    summary = page.locator("#rollback-rate summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_contain_text("2026-04")
    assert page.console_errors == [] and violations == []
