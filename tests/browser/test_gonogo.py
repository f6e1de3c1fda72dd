"""Two people watch one deployment: a red signal and then the rollback reach both at once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from deploychecks.gonogo.models import RollbackEpisode
from deploychecks.gonogo.services import record_reading
from tests import gates
from tests.browser.fixtures import screenshot
from tests.browser.threads import in_thread as _in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_deployment(deployment, lead):
    def go_live():
        gates.go_live(deployment, lead)
        now = timezone.now()
        for minutes_ago, value in ((10, 0.2), (9, 0.3), (8, 0.45), (7, 0.6)):
            record_reading(
                deployment_id=deployment.pk,
                signal_name="Error rate",
                value=value,
                observed_at=now - timedelta(minutes=minutes_ago),
                user=lead,
            )

    _in_thread(go_live)
    deployment.refresh_from_db()
    return deployment


def test_red_signal_and_rollback_mode_reach_the_second_user(
    open_as, live_deployment, engineer, second_engineer, purge_audit_events
):
    path = live_deployment.get_absolute_url()
    erin = open_as(engineer, path)
    sam = open_as(second_engineer, path)
    for page in (erin, sam):
        expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
        expect(page.locator("#gonogo-panel .verdict")).to_contain_text("YELLOW — Monitor closely")

    # Erin types an error rate that has been red for six minutes.
    six_minutes_ago = (timezone.now() - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%S")
    erin.select_option("#reading-signal", "Error rate")
    erin.fill("#reading-value", "3.2")
    erin.fill("#reading-observed", six_minutes_ago)
    erin.fill("#reading-note", "5xx from the payment provider")
    erin.locator("#reading-form button[type=submit]").click()

    # Erin's own answer: the panel, and an emptied form.
    expect(erin.locator("#reading-value")).to_have_value("", timeout=10_000)
    expect(erin.locator("#gonogo-panel .verdict")).to_have_attribute("data-level", "red")
    verdict = sam.locator("#gonogo-panel .verdict")
    expect(verdict).to_have_attribute("data-level", "red", timeout=10_000)
    expect(verdict).to_contain_text("RED — Rollback recommended")
    expect(verdict).to_contain_text("Error rate (%) is red (> 1) for more than 5 min")
    row = sam.locator("#gonogo-panel tr.signal", has_text="Error rate")
    expect(row).to_have_attribute("data-grade", "red")
    expect(row).to_contain_text("3.2 %")
    screenshot(sam, "gonogo-red")

    # Erin starts the rollback; the confirmation names the consequences.
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    erin.on("dialog", accept)
    erin.locator("#rollback-start summary").click()
    erin.fill("#rollback-reason", "Error rate above 1 % for 6 minutes")
    erin.locator("#rollback-start button[type=submit]").click()

    expect(erin.locator("#rollback-start")).to_have_count(0, timeout=10_000)
    for page in (sam, erin):
        panel = page.locator("#rollback-panel")
        expect(panel).to_contain_text("Rollback in progress", timeout=10_000)
        expect(panel.locator(".countdown")).to_contain_text("left")
        rollback_phase = page.locator("details.phase.rollback")
        expect(rollback_phase).to_have_attribute("open", "")
        expect(page.locator("details.phase:not(.rollback)[open]")).to_have_count(0)
        expect(page.locator("details.phase").first).to_have_class("phase card current rollback")
    assert "rollback" in dialogs[0].lower() and "cannot be undone" in dialogs[0]

    # The countdown ticks in the browser (static/js/countdown.js, no inline script).
    countdown = sam.locator("#rollback-panel .countdown")
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first, timeout=5_000)
    expect(sam.locator("#rollback-panel .rollback-steps tbody tr")).to_have_count(7)
    expect(sam.locator("#rollback-panel .rollback-steps")).to_contain_text("10 min")

    episode = RollbackEpisode.objects.get(deployment=live_deployment)
    assert episode.started_by == engineer and episode.decide_seconds is not None
    assert sam.console_errors == [] and erin.console_errors == []
    screenshot(sam, "rollback-mode")


def test_the_public_status_page_updates_live_without_login(
    browser, live_server_url, live_deployment, lead, engineer, purge_audit_events
):
    from deploychecks.gonogo.rollback import start_rollback
    from deploychecks.statuspage import services as statuspage

    pages = []
    _in_thread(lambda: pages.append(statuspage.enable(deployment_id=live_deployment.pk, user=lead)))
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{live_server_url}/status/{pages[0].token}/")
    expect(page.locator("#main[data-ws=open]")).to_have_count(1, timeout=10_000)
    expect(page.locator(".state-label")).to_have_text("Monitoring")

    _in_thread(
        lambda: start_rollback(
            deployment_id=live_deployment.pk, reason="internal: replica-7 lag", user=engineer
        )
    )
    expect(page.locator(".state-label")).to_have_text("Rollback in progress", timeout=10_000)
    _in_thread(
        lambda: statuspage.post_message(
            deployment_id=live_deployment.pk,
            user=lead,
            eta="about 30 minutes",
            message="We are moving back to the previous version.",
        )
    )
    expect(page.locator(".public-message")).to_contain_text("about 30 minutes", timeout=10_000)
    assert "replica-7" not in page.content()
    assert errors == []
    screenshot(page, "status-page-rollback")
    context.close()
