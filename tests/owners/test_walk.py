"""Found walking through owners and status updates as a new user, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from deploychecks.runs import services as runs
from deploychecks.statusupdates.services import post_update
from tests.browser.threads import in_thread as _in_thread
from tests.owners.conftest import item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_my_items_survives_the_live_refresh(open_as, owned, lead, approver, purge_audit_events):
    """The page resyncs when its socket opens and after a status update; "My items"
    stayed in the address bar but the checklist came back whole (and an approver
    owning an item through @qa-lead lost its checkbox)."""
    canary = item(owned, "Canary healthy")  # @qa-lead: Quinn, an approver
    _in_thread(lambda: runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead))
    quinn = open_as(approver, owned.get_absolute_url() + "?mine=1")
    expect(quinn.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    expect(quinn.locator("#owners-panel")).to_contain_text("Showing only the 1 item you own")
    expect(quinn.locator(".run-item")).to_have_count(1)
    expect(quinn.locator(f"#item-{canary.pk}-check")).to_be_enabled()

    _in_thread(lambda: post_update(deployment_id=owned.pk, user=lead, body="Halfway"))
    expect(quinn.locator("#status-update-latest")).to_contain_text("Halfway", timeout=5_000)
    expect(quinn.locator("#owners-panel")).to_contain_text("Showing only the 1 item you own")
    expect(quinn.locator(".run-item")).to_have_count(1)

    quinn.locator(f"#item-{canary.pk}-check").check()
    expect(quinn.locator(f"#item-{canary.pk}")).to_have_class("run-item state-done")
    canary.refresh_from_db()
    assert canary.state == "done"
    assert quinn.console_errors == []


def _lead_page(open_as, owned, lead):
    _in_thread(lambda: runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead))
    page = open_as(lead, owned.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    return page


def test_owners_form_errors_are_at_their_field_and_focused(
    open_as, owned, lead, purge_audit_events
):
    """A refused owner or due time: the field is invalid, described by the error and
    focused (the focus fell back to the page), and what was typed stays."""
    migrations = item(owned, "Migrations reviewed")
    page = _lead_page(open_as, owned, lead)
    page.locator("#owners-form summary").click()
    page.locator("#owners-item").select_option(str(migrations.pk))
    page.locator("#owners-owners").fill("@erin")
    page.locator("#owners-due").fill("banana")
    page.locator("#owners-due").press("Enter")

    due = page.locator("#owners-due")
    expect(page.locator("#owners-error")).to_contain_text("is not a due time")
    expect(due).to_be_focused()
    expect(due).to_have_attribute("aria-invalid", "true")
    expect(due).to_have_attribute("aria-describedby", "owners-error owners-help")
    expect(due).to_have_value("banana")
    expect(page.locator("#owners-owners")).to_have_value("@erin")
    expect(page.locator("#owners-owners")).not_to_have_attribute("aria-invalid", "true")

    # A name that is nobody here is refused at the owners field, not saved silently.
    due.fill("")
    page.locator("#owners-owners").fill("@erin @nosuchuser")
    page.locator("#owners-owners").press("Enter")
    owners = page.locator("#owners-owners")
    expect(page.locator("#owners-error")).to_contain_text("“@nosuchuser” is nobody here")
    expect(owners).to_be_focused()
    expect(owners).to_have_attribute("aria-invalid", "true")
    before = migrations.owners  # the section's @backend-lead
    migrations.refresh_from_db()
    assert migrations.owners == before == ["backend-lead"]
    assert page.console_errors == [] or all("400" in e for e in page.console_errors)


def test_status_update_and_cadence_errors_keep_the_text_at_the_field(
    open_as, owned, lead, purge_audit_events
):
    page = _lead_page(open_as, owned, lead)
    page.locator("#status-update-form-box summary").click()
    body = page.locator("#status-update-body")
    body.fill("   ")  # passes `required`, refused as empty
    page.get_by_role("button", name="Post update").click()
    body = page.locator("#status-update-body")
    expect(page.locator("#status-update-error")).to_contain_text("cannot be empty")
    expect(body).to_be_focused()
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(body).to_have_attribute(
        "aria-describedby", "status-update-error status-update-body-count"
    )

    page.locator("#status-cadence-box summary").click()
    page.locator("#status-cadence-in-progress").fill("30")
    page.locator("#status-cadence-monitoring").fill("2")
    page.get_by_role("button", name="Save cadence").click()
    monitoring = page.locator("#status-cadence-monitoring")
    expect(page.locator("#status-cadence-error")).to_contain_text("monitoring cadence")
    # What was typed stays (it came back empty), the wrong field is marked and focused.
    expect(page.locator("#status-cadence-in-progress")).to_have_value("30")
    expect(monitoring).to_have_value("2")
    expect(monitoring).to_be_focused()
    expect(monitoring).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#status-cadence-in-progress")).not_to_have_attribute(
        "aria-invalid", "true"
    )


def test_my_work_says_when_an_item_is_due_ahead_and_past(
    open_as, owned, lead, engineer, purge_audit_events
):
    """Every due time ahead read "0 minutes from now" (the relative time was clamped)."""
    from datetime import timedelta

    from django.utils import timezone

    backups = item(owned, "Backups verified")  # @erin (due 2h after window start)
    _in_thread(lambda: runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead))
    owned.refresh_from_db()
    owned.planned_start = timezone.now() - timedelta(minutes=30)  # due in 1 h 30
    owned.save(update_fields=["planned_start"])
    erin = open_as(engineer, "/my-work/")
    due = erin.locator(f"#work-item-{backups.pk} time")
    expect(due).to_have_text(re.compile(r"^in 1 hour, (29|30) minutes$"))

    owned.planned_start = timezone.now() - timedelta(hours=3)  # due an hour ago
    owned.save(update_fields=["planned_start"])
    erin.reload()
    expect(due).to_have_text("1 hour ago")


def test_after_saving_the_focus_stays_in_the_panel(open_as, owned, lead, purge_audit_events):
    """Saving a form closes its box; the focus fell back to the start of the page.
    (The status update goes last: it makes every page resync, which re-renders
    the panels and their "saved" lines.)"""
    page = _lead_page(open_as, owned, lead)
    page.locator("#owners-form summary").click()
    page.locator("#owners-owners").fill("@erin")
    page.locator("#owners-owners").press("Enter")
    expect(page.locator("#owners-panel .saved")).to_contain_text("owners @erin")
    expect(page.locator("#owners-form summary")).to_be_focused()

    page.locator("#status-cadence-box summary").click()
    page.locator("#status-cadence-in-progress").fill("30")
    page.locator("#status-cadence-in-progress").press("Enter")
    summary = page.locator("#status-cadence-box summary")
    expect(summary).to_contain_text("every 30 min in progress")
    expect(summary).to_be_focused()

    page.locator("#status-update-form-box summary").click()
    page.locator("#status-update-body").fill("All **green**")
    page.get_by_role("button", name="Post update").click()
    expect(page.locator("#status-update-latest")).to_contain_text("All green")
    expect(page.locator("#status-update-form-box summary")).to_be_focused()
    # The update makes every page resync (this one too): the focus stays put.
    page.wait_for_timeout(1500)
    expect(page.locator("#status-update-form-box summary")).to_be_focused()


def test_a_long_status_update_is_not_cut_but_given_back_with_the_reason(
    open_as, owned, lead, purge_audit_events
):
    """maxlength cut a pasted update at 4,000 characters without a word."""
    page = _lead_page(open_as, owned, lead)
    page.locator("#status-update-form-box summary").click()
    body = page.locator("#status-update-body")
    body.fill("y" * 4100)
    expect(body).to_have_value("y" * 4100)
    expect(page.locator("#status-update-body-count")).to_have_text(
        "4,100 / 4,000: 100 over the limit"
    )
    page.get_by_role("button", name="Post update").click()
    body = page.locator("#status-update-body")
    expect(page.locator("#status-update-error")).to_contain_text("too long")
    expect(body).to_have_value("y" * 4100)
    expect(body).to_be_focused()
    expect(page.locator("#status-update-body-count")).to_have_text(
        "4,100 / 4,000: 100 over the limit"
    )
    body.press("End")
    body.press("Backspace")
    expect(page.locator("#status-update-body-count")).to_have_text(
        "4,099 / 4,000: 99 over the limit"
    )
