"""In Chromium: an owner and a due time from the Markdown on the run page, the row
turning overdue live with its reminder toast, and "My items"."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.runs import services as runs
from tests.browser.fixtures import screenshot
from tests.browser.threads import in_thread as _in_thread
from tests.owners.conftest import item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _start_three_hours_into_the_window(deployment, lead):
    runs.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    deployment.refresh_from_db()
    deployment.planned_start = timezone.now() - timedelta(hours=3)
    deployment.save(update_fields=["planned_start"])


def test_owner_and_due_time_from_the_markdown_then_overdue_live(
    open_as, owned, lead, engineer, purge_audit_events
):
    backups = item(owned, "Backups verified")  # @erin (due 2h after window start)
    _in_thread(lambda: _start_three_hours_into_the_window(owned, lead))
    erin = open_as(engineer, owned.get_absolute_url())
    expect(erin.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    row = erin.locator(f"#item-{backups.pk}")
    expect(row.locator(".owner")).to_have_text("@erin")
    expect(row.locator(".due")).to_have_text("Due 2h after window start")
    expect(row).not_to_have_class("run-item state-open overdue")
    expect(row).not_to_contain_text("Overdue")

    _in_thread(dispatch_due_reminders)

    # Highlighted with a class and said in words, live, with the owner's toast.
    expect(row).to_have_class("run-item state-open overdue", timeout=5_000)
    expect(row.locator(".overdue-badge")).to_have_text("Overdue")
    toast = erin.locator("#toasts .toast", has_text="Overdue: Backups verified")
    expect(toast).to_have_count(1, timeout=5_000)
    expect(toast).to_contain_text("item due")
    row.scroll_into_view_if_needed()
    screenshot(erin, "owners-overdue")

    erin.locator("#my-items-link").click()
    expect(erin.locator("#owners-panel")).to_contain_text("Showing only the 1 item you own")
    expect(erin.locator(f"#item-{backups.pk}")).to_have_count(1)
    expect(erin.locator(".run-item")).to_have_count(1)
    assert erin.console_errors == []
