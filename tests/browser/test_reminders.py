"""Reminders in the browser: a toast on every open view, the bell, acknowledging live."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from deploychecks.reminders.dispatch import dispatch_due_reminders
from tests import gates
from tests.browser.fixtures import screenshot
from tests.browser.threads import in_thread as _in_thread
from tests.reminders.conftest import go_live, shift_into_past

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_toast_on_every_view_and_acknowledge_from_the_bell(
    open_as, deployment, lead, engineer, viewer, purge_audit_events
):
    _in_thread(lambda: shift_into_past(go_live(deployment, lead), timedelta(minutes=16)))
    live = deployment
    live.refresh_from_db()
    erin = open_as(engineer, live.get_absolute_url())
    vic = open_as(viewer, live.get_absolute_url(), width=375, height=812)
    for page in (erin, vic):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
        expect(page.locator(".reminder-count")).to_have_text("0")

    _in_thread(dispatch_due_reminders)

    for page in (erin, vic):
        expect(page.locator("#toasts .toast")).to_contain_text(
            "Re-run the smoke tests", timeout=5_000
        )
        expect(page.locator(".reminder-count")).to_have_text("1", timeout=5_000)
    screenshot(vic, "reminder-toast-phone")
    # On the phone the bell's panel is on the screen, to be read and acknowledged.
    vic.locator("#reminder-centre > summary").click()
    panel = vic.locator(".reminder-panel")
    expect(panel).to_contain_text("Re-run the smoke tests")
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    vic.locator("#reminder-centre > summary").click()

    erin.locator("#toasts [data-open-centre]").click()
    expect(erin.locator("#reminder-centre")).to_have_attribute("open", "")
    reminder = live.reminders.get(status="sent")
    erin.fill(f"#ack-note-{reminder.pk}", "all four flows green")
    erin.locator(f"#reminder-{reminder.pk} .ack-form button").click()
    expect(erin.locator(f"#reminder-{reminder.pk}")).to_contain_text("Done — erin", timeout=5_000)
    screenshot(erin, "reminder-centre-acknowledged")
    # The other view hears about it and updates its count.
    expect(vic.locator(".reminder-count")).to_have_text("0", timeout=5_000)

    reminder.refresh_from_db()
    assert reminder.status == "acknowledged"
    assert reminder.acknowledged_note == "all four flows green"
    assert erin.console_errors == [] and vic.console_errors == []


def test_bell_count_drops_live_when_completion_ends_the_reminders(
    open_as, deployment, lead, engineer, purge_audit_events
):
    _in_thread(lambda: shift_into_past(go_live(deployment, lead), timedelta(minutes=16)))
    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    _in_thread(dispatch_due_reminders)
    expect(page.locator(".reminder-count")).to_have_text("1", timeout=5_000)

    _in_thread(lambda: gates.override(deployment, lead, "completed", "Demo over"))

    # Nothing is left to act on once the deployment has ended: the count says so
    # on the open page, without a reload.
    expect(page.locator(".reminder-count")).to_have_text("0", timeout=5_000)
    assert page.locator("#reminder-centre summary").get_attribute("aria-label") == (
        "Reminders: 0 not acknowledged"
    )
