"""Pages a phone shows whole: no sideways scroll at 375 px (wide tables scroll in
their own box), the reminder schedule and a template's page; fields of every kind
are styled (44 px high to touch), those without a type and URLs too."""

import pytest
from playwright.sync_api import expect

from tests.browser.threads import in_thread
from tests.reminders.conftest import go_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _audit(purge_audit_events):
    """Every test here writes audit events."""


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_reminder_schedule_fits_a_phone_and_its_fields_are_touch_sized(
    open_as, deployment, lead
):
    in_thread(lambda: go_live(deployment, lead))
    page = open_as(lead, f"/deployments/{deployment.pk}/reminders/", **PHONE)
    expect(page.locator("table.reminder-table tbody tr").first).to_be_visible()
    _no_sideways_scroll(page)
    url = page.locator("form.stack input[type=url]").first
    assert url.bounding_box()["height"] >= 44


def test_a_template_page_fits_a_phone(open_as, revision, lead):
    page = open_as(lead, f"/templates/{revision.template_id}/", **PHONE)
    expect(page.get_by_role("heading", name="Contacts and escalation")).to_be_visible()
    _no_sideways_scroll(page)


def test_the_owners_fields_without_a_type_are_styled(open_as, deployment, lead):
    page = open_as(lead, deployment.get_absolute_url(), **PHONE)
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    page.locator("#owners-form-summary").click()
    field = page.locator("#owners-owners")
    expect(field).to_be_visible()
    assert field.bounding_box()["height"] >= 44
