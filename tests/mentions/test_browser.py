"""A mention reaching another user's page live: the toast and the bell, and the
link leads to the item."""

import pytest
from playwright.sync_api import expect

from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder
from deploychecks.runs.status import change_status
from tests.browser.fixtures import screenshot
from tests.browser.threads import in_thread as _in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_mention_reaches_another_users_page_live(
    open_as,
    deployment,
    lead,
    engineer,
    second_engineer,
    viewer,
    first_item,
    mailoutbox,
    purge_audit_events,
):
    # In progress: the bell counts what asks for action while the deployment runs.
    _in_thread(lambda: change_status(deployment_id=deployment.pk, to="in_progress", user=lead))
    path = deployment.get_absolute_url()
    erin = open_as(engineer, path)
    vic = open_as(viewer, path, width=375, height=812)
    sam = open_as(second_engineer, path)
    for page in (erin, vic, sam):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
        expect(page.locator(".reminder-count")).to_have_text("0")
    row = f"#item-{first_item.pk}"

    # Erin opens the item's line and writes a note mentioning Vic, with the keyboard.
    erin.locator(f"{row}-more > summary").click()
    erin.locator(f"{row}-note summary").focus()
    erin.keyboard.press("Enter")
    erin.fill(f"#note-{first_item.pk}", "@vic can you confirm the dashboards?")
    erin.locator(f"{row}-note button[type=submit]").press("Enter")

    # Vic's open page shows the toast and the bell at once, without a reload
    # (the page toast goes out on commit, not at the next dispatcher run).
    toast = vic.locator("#toasts .toast")
    expect(toast).to_contain_text("erin mentioned @vic", timeout=5_000)
    expect(vic.locator(".reminder-count")).to_have_text("1", timeout=5_000)
    # The note itself arrived live too, the mention highlighted.
    expect(vic.locator(f"{row} .notes-thread strong.mention")).to_have_text("@vic")
    screenshot(vic, "mention-toast-phone")

    # The mention is Vic's: the others' pages get no toast, and their bells do not
    # list it (even once reloaded).
    assert sam.locator("#toasts .toast").count() == 0
    assert erin.locator("#toasts .toast").count() == 0
    sam.reload()
    expect(sam.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    expect(sam.locator(".reminder-count")).to_have_text("0")
    expect(sam.locator("#reminder-centre")).not_to_contain_text("mentioned @vic")

    # The link leads to the item.
    toast.locator(f'a[href="#item-{first_item.pk}"]').click()
    vic.wait_for_function(f"location.hash === '#item-{first_item.pk}'")
    expect(vic.locator(row)).to_be_in_viewport()

    # The email goes with the next dispatcher run; the toast is not sent twice.
    _in_thread(dispatch_due_reminders)
    reminder = Reminder.objects.get(kind=Reminder.Kind.MENTION)
    assert reminder.deliveries.get(channel="page").attempts == 1
    assert [m.to for m in mailoutbox] == [["vic@example.com"]]
    assert vic.console_errors == [] and erin.console_errors == []
