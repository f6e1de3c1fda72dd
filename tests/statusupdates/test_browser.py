"""In Chromium: the lead posts a status update from the run page; it appears live on
a viewer's run page and on the public status page."""

import pytest
from playwright.sync_api import expect

from deploychecks.statuspage import services as statuspage
from tests.browser.fixtures import screenshot
from tests.browser.threads import in_thread as _in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_update_reaches_a_viewer_and_the_public_page_live(
    open_as, browser, live_server_url, deployment, lead, viewer, purge_audit_events
):
    page = _in_thread(lambda: statuspage.enable(deployment_id=deployment.pk, user=lead))
    vic = open_as(viewer, deployment.get_absolute_url())
    public_context = browser.new_context()
    public = public_context.new_page()
    public.goto(f"{live_server_url}/status/{page.token}/")
    lena = open_as(lead, deployment.get_absolute_url())
    for run_page in (vic, lena):
        expect(run_page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    expect(vic.locator("#status-update-latest")).to_contain_text("No status update yet")

    lena.locator("#status-update-form-box summary").click()
    lena.get_by_label("Update (Markdown)").fill("Canary at **5%**; <b>no</b> errors")
    lena.get_by_label("Amber: at risk").check()
    lena.get_by_label("Also post to the public status page").check()
    lena.get_by_role("button", name="Post update").click()

    latest = vic.locator("#status-update-latest")
    expect(latest).to_contain_text("Canary at 5%", timeout=5_000)
    expect(latest.locator("strong")).to_have_text("5%")
    expect(latest.locator(".badge")).to_have_text("Amber")  # a word, not colour only
    expect(latest).to_contain_text("<b>no</b> errors")  # shown as text
    public_update = public.locator("#public-status .public-updates li")
    expect(public_update).to_contain_text("Canary at 5%", timeout=5_000)
    expect(public_update.locator(".badge")).to_have_text("Amber")
    expect(public.locator("#public-status")).not_to_contain_text(lead.username)
    vic.locator("#status-updates").scroll_into_view_if_needed()
    screenshot(vic, "status-update-viewer")
    screenshot(public, "status-update-public")
    lena.set_viewport_size({"width": 375, "height": 800})
    lena.locator("#status-update-form-box summary").click()
    lena.locator("#status-updates").scroll_into_view_if_needed()
    screenshot(lena, "status-update-lead-375")
    assert vic.console_errors == [] and lena.console_errors == []
    public_context.close()
