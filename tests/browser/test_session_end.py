"""A session that ends elsewhere ends the live page too (issue 12, section 3)."""

import time

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

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
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
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


def test_password_change_ends_other_browsers_pages_but_not_this_browsers(
    open_as, live_server_url, deployment, engineer, purge_audit_events
):
    old, new = "old-password-123456", "a-new-and-long-passphrase-42"
    # The server hashes with PBKDF2; few iterations keep this fast (it upgrades the hash).
    hasher = PBKDF2PasswordHasher()
    engineer.password = hasher.encode(old, hasher.salt(), iterations=1000)
    engineer.save(update_fields=["password"])
    path = deployment.get_absolute_url()
    run_tab = open_as(engineer, path)
    other_browser = open_as(engineer, path)
    for page in (run_tab, other_browser):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    # The password is changed in a second tab of the first browser.
    password_tab = run_tab.context.new_page()
    password_tab.goto(live_server_url + "/accounts/password/change/")

    password_tab.fill("input[name=old_password]", old)
    password_tab.fill("input[name=new_password1]", new)
    password_tab.fill("input[name=new_password2]", new)
    # This browser is still logged in (Django keeps the changing session under a
    # new key): its run page's socket, opened with the old key, closes, and the
    # page asks, finds it is logged in and opens a new one.
    with run_tab.expect_event("websocket", timeout=10_000):
        password_tab.locator("main button[type=submit]").click()
        password_tab.wait_for_url("**/password/change/done/")

    expect(other_browser.locator("#live-status")).to_contain_text(
        "Your session has ended", timeout=10_000
    )
    expect(run_tab.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    run_tab.wait_for_timeout(2_000)
    expect(run_tab.locator("#run")).to_have_attribute("data-ws", "open")
    expect(run_tab.locator("#run form.tick input[type=checkbox]").first).to_be_enabled()
