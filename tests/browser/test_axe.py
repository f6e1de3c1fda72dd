"""axe-core finds no accessibility violation (WCAG 2.x A/AA, best practices) on the
run page, the "My work" page and the public status page (issue 16)."""

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_violations
from tests.browser.run_page import furnish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _audit(purge_audit_events):
    """Every test here writes audit events."""


@pytest.fixture
def furnished(deployment, lead, engineer):
    return furnish(deployment, lead, engineer)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_run_page_has_no_violations(open_as, deployment, lead, furnished, width):
    page = open_as(lead, deployment.get_absolute_url(), width=width, height=800)
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    expect(page.locator("#status-update-latest")).to_contain_text("Preparation on track")
    expect(page.locator(".owners-line").first).to_contain_text("@erin")
    if width >= 1100:  # the timeline beside the checklist, loaded
        expect(page.locator("#timeline ol.timeline")).to_be_visible(timeout=5_000)
    assert_no_violations(page)
    # Opened: an item's details, sub-checks, notes and N/A; the shortcuts dialog.
    page.locator("#checklist-items .item-more > summary").first.click()
    page.locator("#checklist-items details[id$='-note'] > summary").first.click()
    assert_no_violations(page)
    page.keyboard.press("Escape")
    page.locator("body").press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    assert_no_violations(page)


def test_my_work_has_no_violations(open_as, engineer, furnished):
    page = open_as(engineer, "/my-work/")
    expect(page.locator("main")).to_contain_text("Performance benchmarks checked")
    assert_no_violations(page)


def test_the_public_status_page_has_no_violations(browser, live_server_url, furnished):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server_url}/status/{furnished.token}/")
    expect(page.locator("#public-status")).to_contain_text("Preparation on track")
    assert_no_violations(page)
    context.close()
