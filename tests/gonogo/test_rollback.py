"""Rollback mode: starting it, the timed steps, the automatic end and the follow-ups."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.gonogo.models import RollbackEpisode
from deploychecks.gonogo.rollback import build_view, follow_up_due, start_rollback
from deploychecks.gonogo.services import record_reading
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import NotAllowed, RunError, set_item_state


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _rollback_step_items(deployment):
    return list(
        RunItem.objects.filter(
            deployment=deployment, phase__is_rollback=True, step__isnull=False
        ).order_by("position")
    )


def _tick(deployment, item, user):
    item.refresh_from_db()
    return set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state="done",
        expected_version=item.version,
        user=user,
    )


def test_starting_a_rollback_needs_a_reason_and_an_engineer(live_deployment, engineer, viewer):
    with pytest.raises(RunError, match="needs a reason"):
        start_rollback(deployment_id=live_deployment.pk, reason="  ", user=engineer)
    with pytest.raises(NotAllowed):
        start_rollback(deployment_id=live_deployment.pk, reason="errors", user=viewer)
    episode = start_rollback(
        deployment_id=live_deployment.pk, reason="Error rate 3 %", user=engineer
    )
    assert episode.budget_minutes == 30 and episode.started_by == engineer
    with pytest.raises(RunError, match="already been started"):
        start_rollback(deployment_id=live_deployment.pk, reason="again", user=engineer)


def test_a_planned_deployment_cannot_be_rolled_back(deployment, engineer):
    with pytest.raises(RunError, match="planned cannot be rolled back"):
        start_rollback(deployment_id=deployment.pk, reason="why", user=engineer)


def test_time_to_decide_counts_from_the_first_red_verdict(live_deployment, engineer):
    red_at = timezone.now() - timedelta(minutes=2)
    record_reading(
        deployment_id=live_deployment.pk,
        signal_name="Data corruption",
        value=1,
        observed_at=red_at,
        user=engineer,
    )
    episode = start_rollback(
        deployment_id=live_deployment.pk,
        reason="corrupt rows",
        user=engineer,
        now=red_at + timedelta(minutes=2, seconds=5),
    )
    assert episode.decide_seconds == 125
    event = AuditEvent.objects.get(action="rollback.started")
    assert "decided 2m 05s after the first RED verdict" in event.target_repr


def test_the_run_page_switches_to_rollback_mode(live_deployment, engineer, viewer):
    start_rollback(deployment_id=live_deployment.pk, reason="p95 at 2 s", user=engineer)
    html = _client(viewer).get(live_deployment.get_absolute_url()).content.decode()
    assert "Rollback in progress" in html and "data-deadline=" in html
    assert "left" in html and "of a 30-minute procedure" in html
    rollback_at = html.index('class="phase card current rollback"')
    assert rollback_at < html.index("Phase 1")  # the rollback phase comes first …
    assert 'data-mode="rollback" open>' in html[rollback_at : rollback_at + 400]  # … and open
    assert html.count('data-mode="rollback" open') == 1  # the others are collapsed
    assert "Start rollback" not in html


def test_the_start_form_asks_for_confirmation_naming_the_consequences(live_deployment, engineer):
    html = _client(engineer).get(live_deployment.get_absolute_url()).content.decode()
    assert 'hx-confirm="Start the rollback of checkout-api 2.0.0?' in html
    assert "30-minute countdown starts" in html and "cannot be undone" in html
    response = _client(engineer).post(
        f"/deployments/{live_deployment.pk}/rollback/", {"reason": "errors"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    assert RollbackEpisode.objects.filter(deployment=live_deployment).exists()


def test_step_timings_show_budget_elapsed_and_overrun(live_deployment, engineer):
    episode = start_rollback(deployment_id=live_deployment.pk, reason="errors", user=engineer)
    first_step = _rollback_step_items(live_deployment)[:3]  # "Decision and communication"
    for item in first_step:
        _tick(live_deployment, item, engineer)
    later = timezone.now() + timedelta(minutes=9)
    view = build_view(live_deployment, episode, now=later)
    assert [t.budget_minutes for t in view.steps] == [2, 5, 10, 5, 5, 3, 1]
    assert [t.state for t in view.steps[:3]] == ["done", "active", "pending"]
    assert not view.steps[0].overrun
    assert view.steps[1].overrun and view.steps[1].overrun_by.startswith("4m")
    assert 20 * 60 < view.remaining_seconds < 21 * 60 + 5


def test_the_last_rollback_step_ends_the_deployment_as_rolled_back(live_deployment, engineer, lead):
    episode = start_rollback(deployment_id=live_deployment.pk, reason="errors", user=lead)
    items = _rollback_step_items(live_deployment)
    assert len(items) == 23
    for item in items[:-1]:
        _tick(live_deployment, item, engineer)
    live_deployment.refresh_from_db()
    assert live_deployment.status == "monitoring"
    _tick(live_deployment, items[-1], engineer)
    live_deployment.refresh_from_db()
    episode.refresh_from_db()
    assert live_deployment.status == "rolled_back" and episode.completed_at is not None
    done = AuditEvent.objects.get(action="rollback.completed")
    assert done.after["budget_minutes"] == 30 and len(done.after["steps"]) == 7
    assert [s["budget_minutes"] for s in done.after["steps"]] == [2, 5, 10, 5, 5, 3, 1]
    assert done.target_repr.startswith("in 0m") and "time to decide" in done.target_repr
    steps = list(
        AuditEvent.objects.filter(action="rollback.step_completed")
        .order_by("id")
        .values_list("target_repr", flat=True)
    )
    assert len(steps) == 7 and steps[0].startswith("1. Decision and communication: 0m")
    assert steps[0].endswith("of 2 min")
    status = AuditEvent.objects.filter(action="deployment.status").latest("id")
    assert status.after == {"status": "rolled_back", "reason": "Every rollback step is done."}


def test_post_rollback_items_stay_open_with_due_times(live_deployment, lead, engineer):
    episode = start_rollback(deployment_id=live_deployment.pk, reason="errors", user=lead)
    for item in _rollback_step_items(live_deployment):
        _tick(live_deployment, item, engineer)
    episode.refresh_from_db()
    view = build_view(live_deployment, episode)
    due = {f.item.title: f.due_at - episode.completed_at for f in view.follow_ups}
    assert due == {
        "Post-mortem booked": timedelta(hours=24),
        "Root cause found": timedelta(hours=72),
        "Findings written up": timedelta(hours=72),
        "Re-deployment planned": timedelta(days=5),
    }
    assert all(f.item.state == "open" for f in view.follow_ups)
    later = build_view(live_deployment, episode, now=episode.completed_at + timedelta(hours=25))
    assert [f.item.title for f in later.follow_ups if f.overdue] == ["Post-mortem booked"]
    html = _client(lead).get(live_deployment.get_absolute_url()).content.decode()
    assert "Rolled back" in html and "Post-mortem booked</a> — due" in html


def test_follow_up_due_reads_hours_and_days():
    class Item:
        title, summary = "Book it", ""
        details = "Hold it within 24 hours of the rollback"

    now = timezone.now()
    assert follow_up_due(Item, now) == now + timedelta(hours=24)
    Item.details = "Aim to try again in 3-5 days"
    assert follow_up_due(Item, now) == now + timedelta(days=5)
