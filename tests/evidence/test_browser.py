"""In Chromium: an item marked "evidence required" refuses a bare tick with the
reason at the item, and ticks once a link is added; the others see it live."""

import pytest
from playwright.sync_api import expect

from deploychecks.evidence.models import Evidence
from deploychecks.runs.models import RunItem
from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 48


def test_evidence_required_refuses_a_bare_tick(
    open_as, small, required_item, plain_item, engineer, viewer, purge_audit_events
):
    path = small.get_absolute_url()
    erin = open_as(engineer, path)
    vic = open_as(viewer, path, width=375, height=812)
    for page in (erin, vic):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = f"#item-{required_item.pk}"
    expect(erin.locator(f"{row}-evidence-badge")).to_have_text("Evidence required")

    # A bare tick: refused, with the reason at the item, and the box unticked.
    # A click, not Playwright's check(): that one insists the box ends up ticked.
    erin.locator(f"#item-{required_item.pk}-check").click()
    expect(erin.locator(f"{row} .item-error")).to_contain_text(
        "“Backups verified” cannot be ticked yet: it needs evidence first.", timeout=5_000
    )
    expect(erin.locator(f"#item-{required_item.pk}-check")).not_to_be_checked()
    expect(erin.locator(row)).to_have_class("run-item state-open")
    assert RunItem.objects.get(pk=required_item.pk).state == "open"

    # A link as evidence: listed at once, and on the viewer's page live. (The
    # refusal left the item's expanded part open, with its Evidence panel.)
    erin.locator(f"{row}-evidence summary").click()
    erin.fill(f"#evidence-url-{required_item.pk}", "https://backup.example.com/restore/9")
    erin.fill(f"#evidence-title-{required_item.pk}", "Restore drill <log>")
    erin.locator(f"{row} .evidence-form button[type=submit]").click()
    link = erin.locator(f'{row} .evidence-list a[href="https://backup.example.com/restore/9"]')
    expect(link).to_have_text("Restore drill <log>", timeout=5_000)
    expect(vic.locator(f"{row}-evidence-badge")).to_contain_text("Evidence: 1", timeout=5_000)
    vic.locator(f"{row}-more-s").click()
    vic.locator(f"{row}-evidence summary").click()
    expect(vic.locator(f"{row} .evidence-list")).to_contain_text("Restore drill <log>")

    # Now the tick goes through.
    erin.locator(f"#item-{required_item.pk}-check").check()
    expect(erin.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    expect(vic.locator(row)).to_have_class("run-item state-done", timeout=5_000)
    assert RunItem.objects.get(pk=required_item.pk).state == "done"

    # A screenshot as a file on another item, through the same form.
    other = f"#item-{plain_item.pk}"
    erin.locator(f"{other}-more-s").click()
    erin.locator(f"{other}-evidence summary").click()
    erin.set_input_files(
        f"#evidence-file-{plain_item.pk}",
        files=[{"name": "screen.png", "mimeType": "image/png", "buffer": PNG}],
    )
    erin.locator(f"{other} .evidence-form button[type=submit]").click()
    expect(erin.locator(f"{other} .evidence-list")).to_contain_text("screen.png", timeout=5_000)
    assert Evidence.objects.get(item=plain_item).content_type == "image/png"
    # The refused tick's 409 is the only error the console shows.
    errors = [e for e in erin.console_errors + vic.console_errors if "status of 409" not in e]
    assert errors == [], errors
    # Last: a screenshot leaves style="" on inputs, which htmx copies when it swaps.
    screenshot(erin, "evidence-added")
