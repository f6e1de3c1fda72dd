"""The retro's metrics are the record's figures, on a deployment worked through by the
real services (tests/retros/conftest.py: worked)."""

import re
from html import unescape

import pytest

from deploychecks.history.record import load_record
from deploychecks.retros.hooks import metrics_of

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_metrics_equal_the_records_figures(worked):
    record = load_record(worked)
    m = metrics_of(worked)
    # Known values of the worked deployment.
    assert [p["title"] for p in m["phases"]] == [p.phase.title for p in record.phases]
    phase1 = m["phases"][0]
    assert phase1["actual"] == "30 min 00 s" and phase1["budget"] == "10 min" and phase1["over"]
    assert [(s["phase"], s["step"], s["overrun"]) for s in m["overrun_steps"]] == [
        ("Phase 1: Preparation", "1. Migrate", True),
        ("Rollback procedure", "1. Revert the release", True),
    ]
    assert [i["title"] for i in m["na_items"]] == [i.title for i in record.na_items]
    assert len(m["na_items"]) == record.counts["na"] == 1
    # Stale twice: a tick after each approval (the rollback step's too).
    assert [s["role"] for s in m["stale_signoffs"]] == ["QA Lead", "QA Lead"]
    assert len(m["overrides"]) == len(record.overrides) == 1
    assert len(m["verdict_changes"]) == len(record.verdict_changes) >= 1
    assert [r["title"] for r in m["late_acks"]] == ["Check the error budget"]
    assert m["rollback"]["decide"] == record.rollback_decide_text
    assert m["rollback"]["actual"] == record.rollback_actual_text
    assert m["rollback"]["over"] is True  # 20 minutes against a 15-minute budget
    # Every phase's figures are the record's.
    for figures, phase in zip(m["phases"], record.phases, strict=True):
        assert figures["actual"] == phase.duration_text
        assert figures["planned"] == (phase.phase.timing_label or "—")
    assert m["duration"] == record.duration_text
    stale = [s for s in record.signoffs if s.status == "stale"]
    assert len(m["stale_signoffs"]) == len(stale)


def test_the_retro_page_shows_the_figures_of_the_record_page(worked, client_of, viewer):
    client = client_of(viewer)
    retro = _text(client.get(f"/deployments/{worked.pk}/retro/").content.decode())
    record_html = client.get(f"/deployments/{worked.pk}/record/").content.decode()
    record = _text(record_html)
    for p in load_record(worked).phases:
        # The record's phase table: "<title> <planned> <actual> <done> <na> <open>".
        assert f"{p.phase.title} {p.phase.timing_label or '—'} {p.duration_text}" in record
        assert p.duration_text in retro
    r = load_record(worked)
    assert f"Time to decide {r.rollback_decide_text}" in record
    assert f"Rollback: time to decide {r.rollback_decide_text}" in retro
    assert f"Actual {r.rollback_actual_text}" in record
    assert r.rollback_actual_text in retro
    assert "Stale sign-offs 2" in retro and record_html.count('class="signoff-stale"') == 2
    assert "Items marked N/A 1" in retro
    assert "Overrun steps 2" in retro
    assert "Reminders acknowledged late 1" in retro
