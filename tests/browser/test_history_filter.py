"""Filtering the history list in a real browser: htmx swaps, no page reload."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from playwright.sync_api import expect

from deploychecks.runs.models import Deployment
from deploychecks.runs.services import create_deployment
from tests.browser.fixtures import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _finished(revision, lead, release, version, service, status):
    deployment = create_deployment(
        revision, user=lead, release_name=release, version=version, service=service, lead=lead
    )
    start = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    Deployment.objects.filter(pk=deployment.pk).update(
        status=status, started_at=start, ended_at=start + dt.timedelta(minutes=95)
    )
    return deployment


def test_manager_filters_the_list_without_a_page_reload(
    open_as, revision, lead, make_user, purge_audit_events
):
    manager = make_user("mona", first_name="Mona")
    manager.groups.add(Group.objects.get_or_create(name="managers")[0])
    _finished(revision, lead, "Payments hotfix", "3.4.1", "payments", "rolled_back")
    _finished(revision, lead, "Payments refresh", "3.5.0", "payments", "completed")
    _finished(revision, lead, "Search revamp", "5.0.0", "search", "completed")

    page = open_as(manager, reverse("history:list"))
    rows = page.locator("#history-results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.historyMarker = 'same page'")

    page.get_by_label("Search").press_sequentially("payments", delay=30)
    expect(rows).to_have_count(2)
    page.get_by_label("Outcome").select_option("rolled_back")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Payments hotfix")
    expect(page.locator("#history-count")).to_have_text("1 deployment")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=payments&outcome=rolled_back")

    # A sort link keeps the filters and is also swapped in place.
    page.get_by_label("Outcome").select_option("")
    expect(rows).to_have_count(2)
    page.locator("#sort-release").click()
    expect(page.locator("th[aria-sort=ascending] #sort-release")).to_have_count(1)
    expect(rows.first).to_contain_text("Payments hotfix")
    page.locator("#sort-release").click()
    expect(rows.first).to_contain_text("Payments refresh")
    assert "q=payments" in page.url and "sort=-release" in page.url

    # Back restores the previous list (htmx asks the server for that URL's whole page).
    page.go_back()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=payments&sort=release")
    expect(rows.first).to_contain_text("Payments hotfix")
    expect(page.get_by_label("Search")).to_have_value("payments")

    assert page.evaluate("window.historyMarker") == "same page"
    assert page.console_errors == []
    screenshot(page, "history-filter")


def test_history_list_fits_a_phone(open_as, revision, lead, purge_audit_events):
    _finished(
        revision,
        lead,
        "Payments hotfix with a rather long release name",
        "3.4.1",
        "payments",
        "rolled_back",
    )
    # Not finished, with a previous version: both cells hold visually hidden text,
    # which must stay inside the table's scroller.
    create_deployment(
        revision,
        user=lead,
        release_name="Search revamp",
        version="5.0.0",
        previous_version="4.9.0",
        service="search",
        lead=lead,
    )

    page = open_as(lead, reverse("history:list"), width=375, height=800)

    # The page itself does not scroll sideways; the table scrolls inside its wrapper.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    search, outcome = page.get_by_label("Search"), page.get_by_label("Outcome")
    assert search.bounding_box()["y"] < outcome.bounding_box()["y"]  # filters stack
    screenshot(page, "history-phone")


def test_keyboard_focus_survives_the_page_and_sort_links(
    open_as, revision, lead, purge_audit_events
):
    start = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    Deployment.objects.bulk_create(
        Deployment(
            revision=revision,
            template_name="t",
            release_name=f"Bulk {n:03d}",
            version=f"1.{n}",
            service="bulk-svc",
            lead=lead,
            status="completed",
            started_at=start + dt.timedelta(hours=n),
            ended_at=start + dt.timedelta(hours=n, minutes=30),
        )
        for n in range(120)
    )
    page = open_as(lead, reverse("history:list"))
    count = page.locator("#history-count")

    # "Next ›" is replaced by the page it loads: the focus goes to the count, which names it.
    page.locator("#page-next").focus()
    page.keyboard.press("Enter")
    expect(count).to_have_text("120 deployments · page 2 of 3")
    expect(count).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#sort-release")).to_be_focused()

    # "Last »" is gone on the last page.
    page.locator("#page-last").focus()
    page.keyboard.press("Enter")
    expect(count).to_have_text("120 deployments · page 3 of 3")
    expect(page.locator("#page-last")).to_have_count(0)
    expect(count).to_be_focused()

    # A sort link comes back with the same id: the focus stays on it.
    page.locator("#sort-release").focus()
    page.keyboard.press("Enter")
    expect(page.locator("th[aria-sort=ascending] #sort-release")).to_have_count(1)
    expect(page.locator("#sort-release")).to_be_focused()
    assert page.console_errors == []
