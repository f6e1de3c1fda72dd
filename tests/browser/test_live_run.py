"""Two people on one deployment see each other's changes without reloading."""

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tick_note_and_presence_reach_the_other_browser(
    open_as, deployment, engineer, second_engineer, first_item, purge_audit_events
):
    path = deployment.get_absolute_url()
    erin = open_as(engineer, path)
    sam = open_as(second_engineer, path, width=375, height=812)
    for page in (erin, sam):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)

    # Presence: each sees both people.
    for page in (erin, sam):
        expect(page.locator("#presence")).to_contain_text("Sam Second", timeout=5_000)
        expect(page.locator("#presence")).to_contain_text("erin")

    row = f"#item-{first_item.pk}"
    erin.locator(f"{row} input[type=checkbox]").first.check()
    expect(sam.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    expect(sam.locator(f"{row} .who")).to_contain_text("Done by erin")
    # The server writes the absolute time; the browser words it as Django would.
    expect(sam.locator(f"{row} .who time")).to_have_text(re.compile(r"^\d+ minutes? ago$"))
    expect(sam.locator("#overall-progress")).to_contain_text("1 of 89 done")

    erin.locator(f"{row}-more > summary").click()  # the line opens: details, notes, N/A
    erin.locator(f"{row}-note summary").click()
    erin.fill(f"#note-{first_item.pk}", "Smoke tests took 4 min <b>longer</b>")
    erin.locator(f"{row}-note button[type=submit]").click()
    expect(sam.locator(f"{row} .notes-thread")).to_contain_text(
        "Smoke tests took 4 min <b>longer</b>", timeout=5_000
    )

    first_item.refresh_from_db()
    assert first_item.state == "done" and first_item.notes.count() == 1
    assert sam.console_errors == [] and erin.console_errors == []
    screenshot(sam, "live-run-second-user-phone")


def test_page_resyncs_after_missing_events(
    open_as, deployment, engineer, second_engineer, first_item, purge_audit_events
):
    from deploychecks.runs.services import set_item_state

    page = open_as(engineer, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    # Drop the socket the hard way, change things meanwhile, let it reconnect.
    page.context.set_offline(True)
    expect(page.locator("#live-status")).to_have_attribute(
        "data-state", "reconnecting", timeout=10_000
    )
    expect(page.locator("#live-status")).to_have_text("Offline: changes paused. Reconnecting…")
    items = list(deployment.items.order_by("phase__position", "position")[:3])

    def tick_all():  # in another thread: Playwright owns this thread's event loop
        try:
            for item in items:
                set_item_state(
                    deployment_id=deployment.pk,
                    item_id=item.pk,
                    state="done",
                    expected_version=1,
                    user=second_engineer,
                )
        finally:
            connection.close()

    worker = threading.Thread(target=tick_all)
    worker.start()
    worker.join()
    page.context.set_offline(False)
    for item in items:
        expect(page.locator(f"#item-{item.pk}")).to_have_class(
            "run-item state-done", timeout=20_000
        )
    deployment.refresh_from_db()
    expect(page.locator("#run")).to_have_attribute("data-seq", str(deployment.seq))
