"""Readings typed on the run page, grades and verdicts, their audit and notifications."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.gonogo.models import Reading, VerdictState
from deploychecks.gonogo.services import (
    SignalError,
    judge_open_deployments,
    record_reading,
)
from deploychecks.runs.services import NotAllowed


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_a_deployment_copies_the_seed_signals(live_deployment):
    signals = list(live_deployment.signals.values_list("name", "red_at", "sustained_minutes"))
    assert signals == [
        ("Error rate", 1.0, 5),
        ("p95 latency", 1000.0, 10),
        ("Database connections", 20.0, None),
        ("Data corruption", 1.0, None),
    ]


def test_an_engineer_records_a_reading_on_the_run_page(live_deployment, engineer):
    response = _client(engineer).post(
        f"/deployments/{live_deployment.pk}/readings/",
        {"signal": "p95 latency", "value": "720", "note": "after cache warm-up"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="gonogo-panel"' in html and "YELLOW — Monitor closely" in html
    assert "720 ms" in html and 'id="reading-form"' in html
    reading = Reading.objects.get()
    assert (reading.source, reading.recorded_by, reading.note) == (
        "manual",
        engineer,
        "after cache warm-up",
    )
    actions = list(
        AuditEvent.objects.filter(deployment=live_deployment)
        .values_list("action", flat=True)
        .order_by("id")
    )[-3:]
    assert actions == ["reading.recorded", "signal.grade_changed", "verdict.changed"]


def test_a_bad_reading_shows_its_error_and_stores_nothing(live_deployment, engineer):
    response = _client(engineer).post(
        f"/deployments/{live_deployment.pk}/readings/",
        {"signal": "Error rate", "value": "lots"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "must be a number" in response.content.decode()
    assert not Reading.objects.exists()


def test_viewers_and_approvers_cannot_record_readings(live_deployment, viewer, approver):
    for user in (viewer, approver):
        response = _client(user).post(
            f"/deployments/{live_deployment.pk}/readings/", {"signal": "Error rate", "value": "1"}
        )
        assert response.status_code == 403
        with pytest.raises(NotAllowed):
            record_reading(
                deployment_id=live_deployment.pk, signal_name="Error rate", value=1, user=user
            )
    assert not Reading.objects.exists()


def test_the_run_page_shows_grades_values_sparklines_and_the_verdict(
    live_deployment, engineer, viewer
):
    start = timezone.now() - timedelta(minutes=8)
    for minute, value in enumerate([0.2, 0.4, 1.5, 1.7, 2.0, 2.2, 2.1]):
        record_reading(
            deployment_id=live_deployment.pk,
            signal_name="Error rate",
            value=value,
            observed_at=start + timedelta(minutes=minute),
            user=engineer,
        )
    html = _client(viewer).get(live_deployment.get_absolute_url()).content.decode()
    assert "RED — Rollback recommended" in html
    assert "Error rate (%) is red (&gt; 1) for more than 5 min" in html
    assert "<polyline points=" in html and "2.1 %" in html
    assert 'id="reading-form"' not in html  # a viewer only watches


def test_a_sustained_rule_fires_with_time_alone(live_deployment, engineer, lead):
    now = timezone.now()
    record_reading(
        deployment_id=live_deployment.pk, signal_name="Error rate", value=3, user=engineer, now=now
    )
    assert VerdictState.objects.get().level == "yellow"
    assert judge_open_deployments(now + timedelta(minutes=4)) == 0
    assert judge_open_deployments(now + timedelta(minutes=5, seconds=1)) == 1
    state = VerdictState.objects.get()
    assert state.level == "red" and state.first_red_at == now + timedelta(minutes=5)
    event = AuditEvent.objects.filter(action="verdict.changed").latest("id")
    assert event.target_repr.startswith("RED — Rollback recommended")
    assert event.actor_name == ""  # nobody: the clock did it


def test_the_lead_is_emailed_when_the_verdict_gets_worse(
    live_deployment, engineer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_reading(
            deployment_id=live_deployment.pk,
            signal_name="Data corruption",
            value="yes",
            user=engineer,
        )
    assert len(mail.outbox) == 1
    assert "RED — Rollback recommended" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["lena@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        record_reading(
            deployment_id=live_deployment.pk,
            signal_name="Data corruption",
            value="no",
            user=engineer,
        )
    assert len(mail.outbox) == 1  # getting better is no alarm


def test_readings_are_broadcast_to_every_viewer(
    live_deployment, engineer, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "deploychecks.gonogo.services.send_to_deployment", lambda pk, message: sent.append(message)
    )
    before = live_deployment.seq
    with django_capture_on_commit_callbacks(execute=True):
        record_reading(
            deployment_id=live_deployment.pk, signal_name="Error rate", value=0.7, user=engineer
        )
    assert [m["seq"] for m in sent] == [before + 1, before + 2, before + 3]
    html = json.loads(sent[-1]["text_read"])["html"]
    assert 'id="gonogo-panel"' in html and "YELLOW — Monitor closely" in html
    assert 'id="reading-form"' not in html


def test_unknown_signals_and_long_notes_are_refused(live_deployment, engineer):
    with pytest.raises(SignalError, match="Known signals: Error rate, p95 latency"):
        record_reading(deployment_id=live_deployment.pk, signal_name="CPU", value=1, user=engineer)
    with pytest.raises(SignalError, match="at most 500"):
        record_reading(
            deployment_id=live_deployment.pk,
            signal_name="Error rate",
            value=1,
            note="x" * 501,
            user=engineer,
        )
    assert not Reading.objects.exists()
