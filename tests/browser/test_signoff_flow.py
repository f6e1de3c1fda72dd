"""The sign-off flow in two browsers: the approver signs, the lead sees it live."""

import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "approver-password-123"


def _set_server_password(user):
    # The server runs with the default hashers (the test process uses MD5 for
    # speed); few iterations keep this fast, and the server upgrades the hash.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])


def test_lead_sees_the_approval_appear_live_and_go_stale(
    open_as, deployment, lead, approver, engineer, first_item, purge_audit_events
):
    _set_server_password(approver)
    qa = deployment.signoff_roles.get(name="QA Lead")
    role_box = f"#signoff-role-{qa.pk}"
    path = deployment.get_absolute_url()
    lena = open_as(lead, path)
    quinn = open_as(approver, path, width=390, height=844)
    for page in (lena, quinn):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
        expect(page.locator(role_box)).to_have_attribute("data-state", "pending")
    expect(lena.locator(f"{role_box} form")).to_have_count(0)  # the lead cannot sign

    form = quinn.locator(f"{role_box} form.signoff-form")
    form.get_by_label("Approve").check()
    form.get_by_label("Comment").fill("Regression suite green on staging")
    form.get_by_label("Confirm your password").fill(PASSWORD)
    form.get_by_role("button", name="Sign as QA Lead").click()

    expect(quinn.locator(role_box)).to_have_attribute("data-state", "approved", timeout=10_000)
    expect(lena.locator(role_box)).to_have_attribute("data-state", "approved", timeout=10_000)
    expect(lena.locator(role_box)).to_contain_text("Approved by quinn")
    expect(lena.locator(role_box)).to_contain_text("Regression suite green on staging")
    assert lena.console_errors == [] and quinn.console_errors == []
    # Last on this page: Playwright's screenshot leaves style="" on form fields,
    # which a later htmx swap would copy and the CSP (rightly) refuse.
    lena.locator("#signoff-panel").scroll_into_view_if_needed()
    screenshot(lena, "signoff-lead-sees-approval")

    # An engineer ticks an item: the approval goes stale on both pages.
    worker = threading.Thread(target=_tick, args=(deployment, first_item, engineer))
    worker.start()
    worker.join()
    for page in (quinn, lena):
        expect(page.locator(role_box)).to_have_attribute("data-state", "stale", timeout=10_000)
    expect(quinn.locator(role_box)).to_contain_text("was ticked by erin")
    expect(quinn.locator(f"{role_box} details.signoff-sign")).to_have_attribute("open", "")
    # The confirmation is still fresh: signing again needs no password.
    expect(quinn.locator(f"{role_box} input[type=password]")).to_have_count(0)
    signoff = qa.signoffs.get()
    assert (signoff.signer, signoff.status) == (approver, "stale")
    assert lena.console_errors == [] and quinn.console_errors == []
    screenshot(quinn, "signoff-approver-sees-stale-phone")


def _tick(deployment, item, user):
    # In another thread: Playwright owns this thread's event loop.
    from deploychecks.runs.services import set_item_state

    try:
        set_item_state(
            deployment_id=deployment.pk,
            item_id=item.pk,
            state="done",
            expected_version=1,
            user=user,
        )
    finally:
        connection.close()
