"""Nothing is ever shown as saved that is not: offline, a failed request, a conflict.

Section 2 of issue 12: with the socket down the page pauses every control that
sends a change; a request that fails puts the control back and says so; an N/A
reason typed before a conflict stays in its field.
"""

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from deploychecks.runs.models import RunItem
from deploychecks.runs.services import set_item_state
from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFLINE = "Offline: changes paused. Reconnecting…"
ITEM_STATE = re.compile(r"/deployments/\d+/items/\d+/state/$")


def _in_another_thread(work):
    """Playwright owns this thread's event loop; the ORM works from another."""

    def run():
        try:
            work()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()


def _live(page):
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)


def _page_matches_database(page, deployment):
    deployment.refresh_from_db()
    expect(page.locator("#run")).to_have_attribute("data-seq", str(deployment.seq), timeout=10_000)
    expected = {
        f"item-{pk}": [f"run-item state-{state}", state == RunItem.State.DONE]
        for pk, state in deployment.items.values_list("pk", "state")
    }
    shown = page.eval_on_selector_all(
        "li.run-item",
        """rows => Object.fromEntries(rows.map(row => [row.id,
              [row.className, row.querySelector("form.tick input[type=checkbox]").checked]]))""",
    )
    assert shown == expected


def test_offline_pauses_every_change_and_back_online_the_page_equals_the_database(
    open_as, deployment, engineer, second_engineer, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    _live(page)
    first, second, third = deployment.items.order_by("phase__position", "position")[:3]
    row = page.locator(f"#item-{first.pk}")
    box = row.locator("form.tick input[type=checkbox]")
    expect(box).to_be_enabled()
    # The side timeline loads with the page, and refreshes after the resync: not
    # cut by going offline (htmx logs that as an error).
    expect(page.locator("#timeline ol.timeline")).to_be_visible()
    expect(page.locator("#timeline.htmx-request")).to_have_count(0)

    page.context.set_offline(True)

    status = page.locator("#live-status")
    expect(status).to_have_text(OFFLINE, timeout=5_000)
    expect(status).to_have_attribute("role", "status")  # announced
    expect(box).to_be_disabled()
    expect(row.locator(".na-form button[type=submit]")).to_be_disabled()
    expect(row.locator(".note-form button[type=submit]")).to_be_disabled()
    expect(page.locator("#run-header .actions button").first).to_be_disabled()  # status
    # Typing stays possible (it changes nothing); sending does not.
    expect(row.locator(".note-form textarea")).to_be_editable()
    box.click(force=True)  # force: a disabled box would make Playwright wait
    expect(box).not_to_be_checked()
    expect(row).to_have_class("run-item state-open")
    screenshot(page, "offline-changes-paused")

    # Meanwhile someone else works.
    _in_another_thread(
        lambda: [
            set_item_state(
                deployment_id=deployment.pk,
                item_id=item.pk,
                state="done",
                expected_version=1,
                user=second_engineer,
            )
            for item in (second, third)
        ]
    )
    first.refresh_from_db()
    assert first.state == "open"

    page.context.set_offline(False)

    expect(status).to_have_text("Live", timeout=20_000)
    expect(box).to_be_enabled()
    expect(page.locator("#run [data-paused]")).to_have_count(0)
    _page_matches_database(page, deployment)
    # A fetch cut by going offline (a presence refresh) is logged by the browser.
    assert [e for e in page.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_a_change_whose_request_fails_is_put_back_and_said_so(
    open_as, deployment, engineer, first_item, purge_audit_events
):
    page = open_as(engineer, deployment.get_absolute_url())
    _live(page)
    row = page.locator(f"#item-{first_item.pk}")
    box = row.locator("form.tick input[type=checkbox]")
    error = row.locator(".item-error")

    # The network fails under the tick.
    page.route(ITEM_STATE, lambda route: route.abort())
    box.click()
    expect(error).to_have_text(re.compile("^Not saved: the server could not be reached"))
    expect(box).not_to_be_checked()
    page.unroute(ITEM_STATE)

    # The server fails.
    page.route(ITEM_STATE, lambda route: route.fulfill(status=500, body="Server Error"))
    box.click()
    expect(error).to_have_text("Not saved: the server failed (error 500). Try again.")
    expect(box).not_to_be_checked()

    # An N/A that fails keeps the typed reason, and the item stays open.
    row.locator(f"#item-{first_item.pk}-more > summary").click()  # the line opens
    row.locator(f"#item-{first_item.pk}-na summary").click()
    reason = row.locator(".na-form textarea")
    reason.fill("Covered by the canary")
    row.locator(".na-form button[type=submit]").click()
    expect(error).to_have_text("Not saved: the server failed (error 500). Try again.")
    expect(row).to_have_class("run-item state-open")
    expect(reason).to_have_value("Covered by the canary")
    page.unroute(ITEM_STATE)
    first_item.refresh_from_db()
    assert first_item.state == "open" and first_item.version == 1

    # Once the server answers again, the same controls work.
    box.click()
    expect(row).to_have_class("run-item state-done", timeout=5_000)
    expect(box).to_be_checked()
    expect(error).to_have_text("")
    first_item.refresh_from_db()
    assert first_item.state == "done"


def test_na_reason_typed_before_a_conflict_stays_in_its_field(
    open_as, deployment, engineer, second_engineer, first_item, purge_audit_events
):
    path = deployment.get_absolute_url()
    erin = open_as(engineer, path)
    # Erin's live updates can be held back, as if still on their way: the
    # window in which someone else's change has not reached her page yet.
    held = {"on": False, "messages": [], "socket": None}

    def hold_or_pass(socket_route):
        server = socket_route.connect_to_server()
        held["socket"] = socket_route

        def from_server(message):
            if held["on"]:
                held["messages"].append(message)
            else:
                socket_route.send(message)

        server.on_message(from_server)

    erin.route_web_socket(re.compile(r"/ws/deployments/"), hold_or_pass)
    erin.reload()
    sam = open_as(second_engineer, path)
    for page in (erin, sam):
        _live(page)
    row = f"#item-{first_item.pk}"

    erin.locator(f"{row}-more > summary").click()  # the line opens: details, notes, N/A
    erin.locator(f"{row}-na summary").click()
    erin.locator(f"{row} .na-form textarea").fill("No schema change in this release")
    held["on"] = True
    sam.locator(f"{row} form.tick input[type=checkbox]").click()
    expect(sam.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    erin.locator(f"{row} .na-form button[type=submit]").click()

    # The conflict: the item as it is now, the reason, and her text, focused.
    expect(erin.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    expect(erin.locator(f"{row} .item-error")).to_contain_text("meanwhile")
    reason = erin.locator(f"{row} .na-form textarea")
    expect(reason).to_have_value("No schema change in this release")
    expect(reason).to_be_focused()
    screenshot(erin, "conflict-keeps-na-reason")

    # The held update arrives late: it changes nothing of that.
    held["on"] = False
    for message in held["messages"]:
        held["socket"].send(message)
    deployment.refresh_from_db()
    expect(erin.locator("#run")).to_have_attribute("data-seq", str(deployment.seq))
    expect(reason).to_have_value("No schema change in this release")
    expect(erin.locator(f"{row} .item-error")).to_contain_text("meanwhile")

    # Sent again, against the current version: saved.
    erin.locator(f"{row} .na-form button[type=submit]").click()
    expect(erin.locator(row)).to_have_class("run-item state-na", timeout=5_000)
    first_item.refresh_from_db()
    assert first_item.state == "na"
    assert first_item.na_reason == "No schema change in this release"
    # The browser logs the 409 itself; nothing else went wrong.
    assert [e for e in erin.console_errors if "409 (Conflict)" not in e] == []
    assert sam.console_errors == []
