"""The deployment record page: complete, read-only, escaped, fast, and only for its readers."""

import re
from datetime import timedelta
from html import unescape
from itertools import pairwise

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import compute_hash
from deploychecks.gonogo.rollback import start_rollback
from deploychecks.history.record import format_duration, load_record
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import Reminder
from deploychecks.reminders.services import acknowledge
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import (
    add_item_note,
    change_status,
    create_deployment,
    set_item_state,
)
from tests.conftest import triggers_disabled
from tests.gates import override
from tests.history.worked import client_for, item, tick

pytestmark = pytest.mark.django_db


def _url(deployment):
    return reverse("history:record", args=[deployment.pk])


def _page(user, deployment) -> str:
    response = client_for(user).get(_url(deployment))
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str) -> str:
    """The page's text with tags dropped and whitespace collapsed, for phrase checks."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- Who may read it ------------------------------------------------------------------


def test_participants_and_managers_can_read_the_record(worked, viewer, engineer, lead, manager):
    for user in (viewer, engineer, lead, manager):
        assert client_for(user).get(_url(worked)).status_code == 200, user


def test_outsider_gets_404_and_learns_nothing(worked, outsider):
    response = client_for(outsider).get(_url(worked))
    assert response.status_code == 404
    assert b"Autumn release" not in response.content


def test_anonymous_visitor_is_sent_to_log_in(worked, client):
    response = client.get(_url(worked))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_unknown_deployment_is_404(manager):
    assert client_for(manager).get(reverse("history:record", args=[999999])).status_code == 404


def test_record_is_read_only_even_while_live(worked, engineer):
    html = _page(engineer, worked)
    assert worked.status == "monitoring"
    assert "<form" not in html.split('<main id="main"', 1)[1]
    assert 'type="checkbox"' not in html


# --- What it shows --------------------------------------------------------------------


def test_header_shows_release_versions_lead_outcome_and_times(worked, viewer):
    change_status(deployment_id=worked.pk, to="aborted", user=worked.lead)
    worked.refresh_from_db()
    text = _text(_page(viewer, worked))
    assert "Autumn release" in text and "3.0.2 → 3.1.0" in text
    assert "billing-api · production" in text
    assert "Lead Lena Lead" in text
    assert "Outcome Aborted" in text
    assert f"Started {timezone.localtime(worked.started_at):%Y-%m-%d %H:%M:%S}" in text
    assert f"Go-live {timezone.localtime(worked.go_live_at):%Y-%m-%d %H:%M:%S}" in text
    assert f"Ended {timezone.localtime(worked.ended_at):%Y-%m-%d %H:%M:%S}" in text
    assert f"Total duration {format_duration(worked.ended_at - worked.started_at)}" in text
    assert "Template History test release r1" in text
    assert "Items 3 done · 1 N/A · 3 open, of 7" in text


def test_each_item_shows_its_state_who_ticked_it_and_when(worked, viewer):
    html = _page(viewer, worked)
    backup = item(worked, "Backup created")
    freeze = item(worked, "Freeze announced")
    row = _text(html.split(f'id="item-{backup.pk}"', 1)[1].split("</li>\n", 1)[0])
    assert "✓ done" in row
    assert f"Ticked by erin at {timezone.localtime(backup.changed_at):%Y-%m-%d %H:%M:%S}" in row
    na_row = _text(html.split(f'id="item-{freeze.pk}"', 1)[1].split("</li>\n", 1)[0])
    assert "N/A reason: No freeze for patches" in na_row and "Marked N/A by Sam Second" in na_row
    open_item = item(worked, "Deploy the release")
    assert f'class="record-item state-open" id="item-{open_item.pk}"' in html


def test_sub_checks_notes_deviations_and_details_are_shown(worked, viewer):
    text = _text(_page(viewer, worked))
    assert "✓ Restore tested — ticked by erin" in text
    assert "○ Checksum recorded" in text
    assert "Note Backup took 40 minutes — erin" in text
    assert "Deviation Ran migrations by hand: the job runner was down — Sam Second" in text
    assert "Run backup.sh and keep the log." in text  # the item's Markdown details


def test_phase_duration_runs_from_first_to_last_finished_item(worked, viewer):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    for minutes, title in ((0, "Backup created"), (47, "Check schema"), (12, "Run migrations")):
        RunItem.objects.filter(pk=item(worked, title).pk).update(
            changed_at=start + timedelta(minutes=minutes)
        )
    # N/A counts as finished too; an open item never does.
    RunItem.objects.filter(pk=item(worked, "Freeze announced").pk).update(
        changed_at=start + timedelta(minutes=30)
    )

    record = load_record(worked)

    prep, deploy = record.phases[0], record.phases[1]
    assert prep.duration == timedelta(minutes=47)
    assert (prep.first_change, prep.last_change) == (start, start + timedelta(minutes=47))
    assert deploy.duration is None
    text = _text(_page(viewer, worked))
    assert "Phase 1: Preparation T-1 day 47 min 00 s 3 1 0" in text
    assert "Phase 2: Deploy and monitor T+0 — 0 0 2" in text


def test_sign_offs_show_signed_state_and_stale_mark(worked, viewer):
    html = _page(viewer, worked)
    signoffs = list(worked.signoffs.order_by("created_at"))
    stale, valid = signoffs
    assert (stale.status, valid.status) == ("stale", "valid")
    section = _text(html.split('id="signoffs"', 1)[1].split("</section>", 1)[0])
    # What each approved: the counts, the hash and the items still open then.
    assert (
        f"QA Lead Approve quinn {timezone.localtime(stale.created_at):%Y-%m-%d %H:%M:%S} "
        f"Approved at 2 of 7 done, 1 N/A; checklist {stale.checklist_hash[:12]}… "
        f"change #{stale.checklist_seq} 4 items open then Check schema Deploy the release "
        "Smoke tests pass Redeploy the previous version 2 sub-checks open then Stale "
        "“Check schema” was ticked by erin"
    ) in section
    assert (
        f"Approved at 3 of 7 done, 1 N/A; checklist {valid.checklist_hash[:12]}… "
        f"change #{valid.checklist_seq} 3 items open then Deploy the release Smoke tests pass "
        "Redeploy the previous version 2 sub-checks open then Valid"
    ) in section
    assert "Looks good" in section and "Still good" in section


def test_completion_override_is_marked(worked, make_user, viewer):
    admin = make_user("root", is_superuser=True)
    override(worked, admin, "completed", "EM on leave; CTO approved by phone")
    text = _text(_page(viewer, worked))
    assert "Gate overridden to completed. root went past 3 unmet conditions" in text
    # Exactly what was overridden: the two open items, the missing approval (this
    # template states no monitoring window).
    assert (
        ": “EM on leave; CTO approved by phone” Deploy the release Smoke tests pass "
        "Engineering Manager Team:"
    ) in text
    assert "Override Completed by root past unmet conditions: “EM on leave; CTO approved" in text


def test_signals_readings_and_verdict_changes_are_listed(worked, viewer):
    text = _text(_page(viewer, worked))
    assert "Error rate (%): yellow ≥ 0.5, red > 1 sustained 5 min" in text
    assert "2.5 % Entered by hand erin spike after deploy" in text
    verdicts = AuditEvent.objects.filter(deployment=worked, action="verdict.changed")
    assert verdicts.count() >= 1
    assert "NONE → YELLOW" in text or "NONE → RED" in text


def test_reminders_show_due_sent_late_and_acknowledgement(worked, engineer, viewer, settings):
    settings.REMINDER_LATE_AFTER_SECONDS = 60
    first = Reminder.objects.filter(deployment=worked).order_by("due_at").first()
    # The dispatcher was down: the first reminder goes out five minutes late.
    Reminder.objects.filter(pk=first.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    dispatch_due_reminders()
    acknowledge(
        deployment_id=worked.pk, reminder_id=first.pk, user=engineer, note="Smoke tests green"
    )
    first.refresh_from_db()
    assert first.status == "acknowledged" and first.late_by > timedelta(minutes=4)

    html = _page(viewer, worked)
    section = _text(html.split('id="reminders"', 1)[1].split("</section>", 1)[0])
    assert (
        f"{first.title} {timezone.localtime(first.due_at):%Y-%m-%d %H:%M} "
        f"{timezone.localtime(first.sent_at):%Y-%m-%d %H:%M:%S} "
        f"late, {format_duration(first.late_by)} erin, "
        f"{timezone.localtime(first.acknowledged_at):%Y-%m-%d %H:%M:%S}: "
        "“Smoke tests green”"
    ) in section
    assert (
        section.count("Pending")
        == Reminder.objects.filter(deployment=worked, status="pending").count()
        > 0
    )


def test_a_reminder_sent_within_the_dispatch_grace_is_not_marked_late(worked, viewer, settings):
    settings.REMINDER_LATE_AFTER_SECONDS = 600
    first = Reminder.objects.filter(deployment=worked).order_by("due_at").first()
    Reminder.objects.filter(pk=first.pk).update(due_at=timezone.now() - timedelta(minutes=5))
    dispatch_due_reminders()
    first.refresh_from_db()
    assert first.late_by > timedelta(minutes=4)

    section = _page(viewer, worked).split('id="reminders"', 1)[1].split("</section>", 1)[0]
    assert format_duration(first.late_by) in _text(section)
    assert "late," not in _text(section) and 'class="warn"' not in section


def test_deviations_and_na_items_are_listed_with_links_to_their_items(worked, viewer):
    section = _page(viewer, worked).split('id="exceptions"', 1)[1].split("</section>", 1)[0]
    text = _text(section)
    assert "Run migrations : Ran migrations by hand: the job runner was down" in text
    assert "Freeze announced : No freeze for patches" in text
    assert f'href="#item-{item(worked, "Run migrations").pk}"' in section
    assert f'href="#item-{item(worked, "Freeze announced").pk}"' in section
    assert "Backup took 40 minutes" not in text  # a plain note is not a deviation


def test_rollback_episode_shows_reason_budget_and_actual(worked, engineer, viewer):
    start_rollback(
        deployment_id=worked.pk, reason="Error rate above 1 % for 6 minutes", user=engineer
    )
    tick(worked, "Redeploy the previous version", engineer)  # the last step: rolled back
    worked.refresh_from_db()
    episode = worked.rollback
    assert worked.status == "rolled_back" and episode.completed_at

    text = _text(_page(viewer, worked))
    assert "Outcome Rolled back" in text
    assert "Reason Error rate above 1 % for 6 minutes" in text
    assert "Started by erin" in text and "Budget 15 min" in text
    assert f"Actual {format_duration(episode.completed_at - episode.started_at)}" in text


def test_audit_timeline_lists_every_event_oldest_first_with_a_verified_chain(worked, viewer):
    html = _page(viewer, worked)
    events = list(AuditEvent.objects.filter(deployment=worked).order_by("id"))
    positions = [html.index(f'id="event-{e.pk}"') for e in events]
    assert positions == sorted(positions) and len(events) > 15
    assert f"✓ Audit chain verified: {len(events)} events intact." in html
    ticked = next(e for e in events if e.action == "item.ticked")
    row = _text(html.split(f'id="event-{ticked.pk}"', 1)[1].split("</tr>", 1)[0])
    assert "erin item.ticked Backup created state: open → done; version: 1 → 2" in row


def test_an_altered_event_shows_the_chain_broken_at_it_even_after_a_cached_view(worked, viewer):
    assert "Audit chain verified" in _page(viewer, worked)  # rendered and cached
    victim = AuditEvent.objects.filter(deployment=worked, action="item.ticked").first()
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET target_repr = %s WHERE id = %s",
            ["Something else", victim.pk],
        )

    html = _page(viewer, worked)

    text = _text(html)
    assert f"Audit chain BROKEN at event #{victim.pk}" in text
    assert "its content does not match its hash (the event was altered)" in text
    assert f'href="#event-{victim.pk}"' in html
    assert "Audit chain verified" not in html


def test_a_cached_record_shows_each_later_change(worked, engineer, viewer):
    first = _text(_page(viewer, worked))
    assert "○ open Deploy the release" in first

    tick(worked, "Deploy the release", engineer)
    second = _text(_page(viewer, worked))
    assert "✓ done Deploy the release Ticked by erin" in second

    # Sending a reminder takes no sequence number; its audit event changes the page.
    first_reminder = Reminder.objects.filter(deployment=worked).order_by("due_at").first()
    Reminder.objects.filter(pk=first_reminder.pk).update(due_at=timezone.now())
    dispatch_due_reminders()
    first_reminder.refresh_from_db()
    assert first_reminder.sent_at is not None
    html = _page(viewer, worked)
    section = _text(html.split('id="reminders"', 1)[1].split("</section>", 1)[0])
    assert f"{timezone.localtime(first_reminder.sent_at):%Y-%m-%d %H:%M:%S}" in section


def test_an_event_rewritten_with_a_fresh_hash_is_caught_by_its_successor_link(worked, viewer):
    victim = AuditEvent.objects.filter(deployment=worked, action="note.added").first()
    victim.target_repr = "Nothing to see"
    new_hash = compute_hash(victim)
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET target_repr = %s, hash = %s WHERE id = %s",
            [victim.target_repr, new_hash, victim.pk],
        )

    record = load_record(worked)

    assert not record.chain.ok and record.chain.bad_event_id == victim.pk
    assert "no later event links to it" in record.chain.reason


def test_a_removed_event_breaks_the_link_of_the_next(worked):
    events = list(AuditEvent.objects.filter(deployment=worked).order_by("id"))
    removed, following = events[3], events[4]
    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])

    record = load_record(worked)

    assert not record.chain.ok
    assert record.chain.bad_event_id in (events[2].pk, following.pk)


def test_hostile_text_is_escaped(record_deployment, engineer, viewer, lead):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    change_status(deployment_id=record_deployment.pk, to="in_progress", user=lead)
    add_item_note(
        deployment_id=record_deployment.pk,
        body=hostile,
        user=engineer,
        item_id=item(record_deployment, "Backup created").pk,
    )
    tick(record_deployment, "Freeze announced", engineer, state="na", reason=hostile)
    record_deployment.release_name = hostile
    record_deployment.save(update_fields=["release_name"])

    html = _page(viewer, record_deployment)

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;") >= 3


def test_page_links_to_every_export_and_from_the_run_page(worked, viewer):
    html = _page(viewer, worked)
    for fmt in ("md", "csv", "json", "pdf"):
        assert f'href="{reverse("history:export", args=[worked.pk, fmt])}"' in html
    assert 'href="/static/css/record.css"' in html or "css/record." in html
    run_page = client_for(viewer).get(worked.get_absolute_url()).content.decode()
    assert f'href="{_url(worked)}"' in run_page


# --- Fixed number of queries ------------------------------------------------------------


def _queries_for(user, deployment, *, cached: bool) -> int:
    client = client_for(user)
    client.get(_url(deployment))  # warm the session and the cache
    if not cached:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_url(deployment)).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_items_or_events(
    worked, revision, lead, engineer, viewer, approver, manager
):
    big = create_deployment(
        revision,
        user=lead,
        release_name="Big",
        version="9.0.0",
        service="big-api",
        lead=lead,
        engineers=[engineer],
        approvers={approver: "QA Lead"},
        viewers=[viewer],
    )
    change_status(deployment_id=big.pk, to="in_progress", user=lead)
    for it in big.items.order_by("phase__position", "position")[:30]:
        set_item_state(
            deployment_id=big.pk, item_id=it.pk, state="done", expected_version=1, user=engineer
        )
        add_item_note(deployment_id=big.pk, item_id=it.pk, body="checked", user=engineer)
    assert big.items.count() > 80 and big.audit_events.count() > 2 * worked.audit_events.count()

    for cached in (False, True):
        small_count = _queries_for(viewer, worked, cached=cached)
        big_count = _queries_for(viewer, big, cached=cached)

        assert small_count == big_count, cached
        assert big_count <= (25 if not cached else 8), cached
        # A manager (no participant row) costs the same bounded number.
        assert _queries_for(manager, big, cached=cached) <= big_count + 1


def test_heading_levels_never_skip_one(worked, viewer):
    """Screen readers navigate by headings: a step right under a phase is an h3."""
    levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", _page(viewer, worked))]
    assert levels and levels[0] == 1
    assert all(b <= a + 1 for a, b in pairwise(levels)), levels
