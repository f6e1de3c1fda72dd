"""In Chromium: a retrospective with metrics that equal the record's, written,
published and then shown in the record; axe-core finds no violation on its page."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_violations
from tests.browser.threads import in_thread as _in_thread
from tests.retros.conftest import work_through

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _cells(page, selector) -> list[list[str]]:
    rows = page.locator(selector)
    return [
        [c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_a_retrospective_with_metrics_that_equal_the_records(
    open_as,
    small_deployment,
    lead,
    engineer,
    second_engineer,
    approver,
    viewer,
    purge_audit_events,
):
    d = _in_thread(
        lambda: work_through(small_deployment, lead, engineer, second_engineer, approver)
    )
    retro = open_as(viewer, f"/deployments/{d.pk}/retro/")
    record = open_as(viewer, f"/deployments/{d.pk}/record/")
    expect(retro.locator("h1")).to_contain_text("Retrospective")

    # Duration per phase: the retro's table against the record's (phase, planned, actual).
    retro_phases = [(r[0], r[1], r[3]) for r in _cells(retro, "table.retro-phases tbody tr")]
    record_phases = [(r[0], r[1], r[2]) for r in _cells(record, "table.phase-times tbody tr")]
    assert len(retro_phases) == 3
    assert [(t, p, a.removesuffix(" over budget")) for t, p, a in retro_phases] == record_phases
    assert retro_phases[0][2] == "30 min 00 s over budget"

    def metric(name):
        return retro.locator(f'[data-metric="{name}"]').inner_text().strip()

    # The counts the record shows as rows, lines and banners.
    assert int(metric("stale-signoffs")) == record.locator("tr.signoff-stale").count() == 2
    assert int(metric("verdict-changes")) == record.locator(".record-verdicts li").count() >= 1
    assert int(metric("overrides")) == record.locator(".override-banner").count() == 1
    items = record.locator(".record-facts div", has_text="Items").first.inner_text()
    na = int(re.search(r"(\d+) N/A", items).group(1))
    assert int(metric("na-items")) == na == 1
    assert int(metric("overrun-steps")) == 2
    assert int(metric("late-acks")) == 1

    def record_fact(label):
        return (
            record.locator(
                "#rollback .record-facts div", has=record.locator(f"dt:text-is('{label}')")
            )
            .locator("dd")
            .inner_text()
            .strip()
        )

    assert metric("rollback-decide") == record_fact("Time to decide")
    assert metric("rollback-actual") == record_fact("Actual")
    total = record.locator(".record-facts div", has_text="Total duration").locator("dd")
    assert metric("duration") == total.inner_text().strip()

    # axe-core: no violation on the retro page, open (with its forms) and as a reader.
    lena = open_as(lead, f"/deployments/{d.pk}/retro/")
    assert_no_violations(lena)
    assert_no_violations(retro)

    # Written, given a follow-up and published from the page; then in the record.
    lena.get_by_label("What went well: text").fill("Backups were quick.")
    lena.get_by_label("What did not go well: text").fill("The canary alert was late.")
    lena.get_by_role("button", name="Save “What went well”").click()
    expect(lena.locator(".messages")).to_contain_text("saved")
    # Saving one section keeps what was typed, unsaved, in another (marked so).
    expect(lena.get_by_label("What did not go well: text")).to_have_value(
        "The canary alert was late."
    )
    expect(lena.locator(".retro-draft")).to_contain_text("Not saved yet")
    lena.get_by_role("button", name="Save “What did not go well”").click()
    expect(lena.locator(".messages")).to_contain_text("saved")
    expect(lena.locator(".retro-draft")).to_have_count(0)
    lena.get_by_label("What has to be done").fill("Alert on slow migrations")
    lena.get_by_label("Owner").select_option(label="erin")
    lena.get_by_label("Due date").fill("2027-01-15")
    lena.get_by_label("Issue tracker link (optional)").fill("https://tracker.example.com/OPS-7")
    lena.get_by_role("button", name="Add follow-up").click()
    expect(lena.locator("table.retro-follow-ups")).to_contain_text("Alert on slow migrations")
    lena.get_by_role("button", name="Publish the retrospective").click()
    expect(lena.locator(".messages")).to_contain_text("part of the record")
    expect(lena.locator("textarea")).to_have_count(0)
    assert_no_violations(lena)
    record.reload()
    section = record.locator("#retrospective")
    expect(section).to_contain_text("Backups were quick.")
    expect(section).to_contain_text("Alert on slow migrations")
    frozen = [
        (r[0], r[1], r[3]) for r in _cells(record, "#retrospective table.retro-phases tbody tr")
    ]
    assert frozen == retro_phases
    assert lena.console_errors == [] and record.console_errors == []

    # On a phone (375 px) the page does not scroll sideways.
    phone = open_as(engineer, f"/deployments/{d.pk}/retro/", width=375, height=800)
    expect(phone.locator("#retro-metrics")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
