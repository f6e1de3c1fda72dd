"""Logging out in one tab ends the live page in another (issue 12, section 3)."""

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_logout_in_one_tab_closes_the_other_tabs_socket_and_says_so(
    open_as, live_server_url, deployment, engineer, purge_audit_events
):
    path = deployment.get_absolute_url()
    first_tab = open_as(engineer, path)
    # The same browser, the same session: a second tab of the same context.
    second_tab = first_tab.context.new_page()
    sockets = []
    second_tab.on("websocket", lambda websocket: sockets.append(websocket))
    second_tab.goto(live_server_url + path)
    for page in (first_tab, second_tab):
        expect(page.locator("#run[data-ws=open]")).to_have_count(1, timeout=10_000)
    (socket,) = sockets

    logging_out_at = time.monotonic()
    with socket.expect_event("close", timeout=5_000):
        first_tab.get_by_role("button", name="Log out").click()

    assert time.monotonic() - logging_out_at < 5
    status = second_tab.locator("#live-status")
    expect(status).to_have_text(
        "Your session has ended: changes paused. Log in again", timeout=5_000
    )
    expect(status).to_have_attribute("role", "status")
    link = status.get_by_role("link", name="Log in again")
    expect(link).to_have_attribute("href", f"/accounts/login/?next={path.replace('/', '%2F')}")
    expect(second_tab.locator("#run form.tick input[type=checkbox]").first).to_be_disabled()
    # It stays ended: no reconnecting behind the reader's back.
    second_tab.wait_for_timeout(2_000)
    expect(second_tab.locator("#run")).to_have_attribute("data-ws", "ended")
    assert len(sockets) == 1
    screenshot(second_tab, "session-ended-in-another-tab")

    link.click()
    expect(second_tab.get_by_label("Username")).to_be_visible()
