"""The gates in a real browser: each refuses with its reasons, the lead overrides
with a reason and the password, and the override is audited."""

import pytest
from playwright.sync_api import expect

from deploychecks.audit.models import AuditEvent
from deploychecks.gonogo.rollback import start_rollback
from deploychecks.gonogo.services import record_reading
from deploychecks.runs.models import GateOverride, RunItem
from deploychecks.runs.services import change_status
from deploychecks.statusupdates.services import post_update
from tests.browser.fixtures import screenshot
from tests.browser.test_gonogo import _in_thread
from tests.browser.test_signoff_flow import PASSWORD, _set_server_password
from tests.gates import go_live, tick_needed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open(open_as, lead, deployment):
    _set_server_password(lead)
    page = open_as(lead, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    return page


def _press(page, label):
    page.locator("#run-header .actions").get_by_role("button", name=label).click()


def _refused(page, to, *texts):
    """The refusal says why at once, and the gate lists every condition."""
    expect(page.locator("#status-error")).to_contain_text("cannot be", timeout=10_000)
    gate = page.locator(f"#gate-{to}")
    expect(gate).to_have_class("gate refused")
    for text in texts:
        expect(gate).to_contain_text(text)
    return gate


def _override(page, to, action, reason):
    gate = page.locator(f"#gate-{to}")
    gate.locator("summary", has_text=f"Override and {action} anyway").click()
    form = page.locator(f"#override-{to}-form")
    form.get_by_label(f"Why is it safe to {action}?").fill(reason)
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_role("button", name="Override").click()


def _open_before_item(deployment):
    tick_needed(deployment, "monitoring")
    item = (
        RunItem.objects.filter(deployment=deployment, phase__stage="before")
        .order_by("phase__position", "position")
        .last()
    )
    RunItem.objects.filter(pk=item.pk).update(state="open")
    return item


def test_going_live_with_an_open_pre_go_live_item(open_as, deployment, lead, purge_audit_events):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    item = _open_before_item(deployment)
    page = _open(open_as, lead, deployment)

    _press(page, "Go live: start monitoring")
    gate = _refused(page, "monitoring", "Going live needs", "Every item before go-live")
    link = gate.locator(f'a[href="#item-{item.pk}"]')
    expect(link).to_have_count(1)
    expect(page.locator(".status").first).to_have_text("In progress")

    _override(page, "monitoring", "go live", "The last check is covered by the canary")
    expect(page.locator(".status").first).to_have_text("Monitoring", timeout=10_000)
    expect(page.locator(".override-banner")).to_contain_text("Gate overridden to monitoring")
    # The override form went with the gate: the view and the focus are on the new
    # status, not at the page's bottom (where the browser anchored it) or its body.
    expect(page.locator("#run-header")).to_be_focused()
    expect(page.locator("#run-header")).to_be_in_viewport()
    event = AuditEvent.objects.get(action="deployment.override")
    assert event.after["conditions"] == [
        {"key": f"item:{item.pk}", "kind": "items", "label": event.after["conditions"][0]["label"]}
    ]
    # The browser logs the refusal's 409 itself; nothing else may go wrong.
    assert [e for e in page.console_errors if "status of 409" not in e] == []
    screenshot(page, "gate-go-live-overridden")


def test_going_live_on_red(open_as, deployment, lead, engineer, purge_audit_events):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    tick_needed(deployment, "monitoring")
    record_reading(
        deployment_id=deployment.pk, signal_name="Data corruption", value="yes", user=engineer
    )
    page = _open(open_as, lead, deployment)

    _press(page, "Go live: start monitoring")
    _refused(page, "monitoring", "A verdict that is not RED", "RED: Data corruption")
    _override(page, "monitoring", "go live", "Corruption was in a test tenant, cleaned")
    expect(page.locator(".status").first).to_have_text("Monitoring", timeout=10_000)
    record = GateOverride.objects.get()
    assert [c["key"] for c in record.conditions] == ["verdict:red"]
    assert AuditEvent.objects.filter(action="deployment.override").count() == 1


def test_going_live_during_a_rollback_cannot_be_overridden(
    open_as, deployment, lead, engineer, purge_audit_events
):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    tick_needed(deployment, "monitoring")
    start_rollback(deployment_id=deployment.pk, reason="Errors right after deploy", user=engineer)
    page = _open(open_as, lead, deployment)

    _press(page, "Go live: start monitoring")
    gate = _refused(page, "monitoring", "The rollback in progress to finish")
    expect(gate).to_contain_text("cannot be overridden")
    expect(page.locator("#override-monitoring-form")).to_have_count(0)
    expect(page.locator(".status").first).to_have_text("In progress")
    assert not GateOverride.objects.exists()


def test_completing_with_open_items(open_as, deployment, lead, purge_audit_events):
    go_live(deployment, lead)
    deployment.signoff_roles.all().delete()
    page = _open(open_as, lead, deployment)

    _press(page, "Complete")
    _refused(page, "completed", "Completing needs", "Every item done or N/A", "Show")
    _override(page, "completed", "complete", "Stabilization items tracked in the incident doc")
    expect(page.locator(".status").first).to_have_text("Completed", timeout=10_000)
    keys = GateOverride.objects.get().conditions
    assert {c["kind"] for c in keys} == {"items", "window"}


def test_completing_early(open_as, deployment, lead, purge_audit_events):
    go_live(deployment, lead)
    tick_needed(deployment, "completed")
    deployment.signoff_roles.all().delete()
    page = _open(open_as, lead, deployment)

    _press(page, "Complete")
    _refused(page, "completed", "The monitoring window to end", "72 h after go-live")
    _override(page, "completed", "complete", "A one-line hotfix; 72 h of watching is overkill")
    expect(page.locator(".status").first).to_have_text("Completed", timeout=10_000)
    (record,) = GateOverride.objects.all()
    assert [c["key"] for c in record.conditions] == ["window"]
    assert AuditEvent.objects.filter(action="deployment.override", actor=lead).exists()
    screenshot(page, "gate-completed-early-override")


def test_a_resync_answered_after_the_refusal_does_not_wipe_it(
    open_as, deployment, lead, purge_audit_events
):
    """The race behind this file's rare failure at `_refused`: a resync fetched
    before the refusal but answered after it replaced the checklist with one
    without the refusal (the gate no longer "refused", the reason gone). It
    happened when the page's resync on socket open was still on its way (the
    "networkidle" wait returns at once once reached) or an event came in."""
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    _open_before_item(deployment)
    page = _open(open_as, lead, deployment)
    held = []
    page.route("**/checklist/", lambda route: held.append(route))
    # An event that asks every open page to resync (a status change of another
    # kind would do too): its fetch is held until after the refusal.
    _in_thread(lambda: post_update(deployment_id=deployment.pk, user=lead, body="Going live soon"))
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page did not resync"

    _press(page, "Go live: start monitoring")
    gate = _refused(page, "monitoring", "Going live needs")
    with page.expect_response(lambda r: r.url.endswith("/checklist/")):
        held[0].continue_()
    page.unroute("**/checklist/")
    page.wait_for_timeout(300)  # the stale answer is applied (or dropped) by now
    expect(gate).to_have_class("gate refused")
    expect(page.locator("#status-error")).to_contain_text("cannot be")
    expect(page.locator("#status-update-latest")).to_contain_text("Going live soon")
