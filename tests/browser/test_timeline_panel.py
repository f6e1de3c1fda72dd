"""The run page's timeline is not rendered with the page: it is fetched when its
panel opens, which on a wide screen (a side panel) it does by itself, and on a
narrower one when the reader opens it. Open, it stays live."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 900])
def test_opening_the_timeline_loads_it_and_it_stays_live(
    open_as, deployment, engineer, first_item, purge_audit_events, width
):
    page = open_as(engineer, deployment.get_absolute_url(), width=width)
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    if width < 1100:
        assert page.locator("#timeline ol.timeline").count() == 0  # not rendered with the page
        page.locator("#view-timeline").click()
    # (Wide: the side panel opened by itself and fetched it.)
    timeline = page.locator("#timeline ol.timeline")
    expect(timeline).to_contain_text("created the deployment", timeout=5_000)
    if width < 1100:
        page.locator("#view-checklist").click()

    # A tick while the panel is open appears in it (run.js refreshes it).
    page.locator(f"#item-{first_item.pk}-check").check()
    expect(timeline.locator('[data-action="item.ticked"]')).to_have_count(1, timeout=5_000)
    # The filters work on the loaded timeline, once htmx has set up the refreshed
    # one (it does so ~20 ms after the swap; a change before that goes unheard).
    expect(page.locator("#timeline.htmx-added")).to_have_count(0)
    if width < 1100:
        page.locator("#view-timeline").click()
    page.locator("#tl-kind").select_option("deployment.created")
    expect(timeline.locator('[data-action="item.ticked"]')).to_have_count(0, timeout=5_000)
    assert page.console_errors == []
