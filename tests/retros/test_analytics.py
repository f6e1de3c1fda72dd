"""The analytics chart "Follow-ups open per week", on a known dataset."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from deploychecks.history.analytics import Filters, follow_ups_open_per_week, report
from deploychecks.runs.models import Deployment
from deploychecks.runs.services import create_deployment
from tests.retros.data import follow_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


def _finished(revision, lead, started):
    d = create_deployment(
        revision, user=lead, release_name="R", version="1.0", service="svc", lead=lead
    )
    Deployment.objects.filter(pk=d.pk).update(
        status="completed", started_at=started, ended_at=started
    )
    d.refresh_from_db()
    return d


@pytest.fixture
def dataset(revision, lead, outsider):
    mine = _finished(revision, lead, at("03-02T09:00"))
    theirs = _finished(revision, outsider, at("03-16T09:00"))
    follow_up(mine, at("03-02T10:00"), at("03-10T10:00"), title="Alert sooner")
    follow_up(mine, at("03-04T10:00"), title="Fix the runbook")
    follow_up(theirs, at("03-17T10:00"), at("03-18T10:00"), title="Their follow-up")
    return mine, theirs


def test_open_per_week_on_a_known_dataset(dataset):
    result = follow_ups_open_per_week(Deployment.objects.all())
    assert result.rows == [
        ("2026-03-02", 2, 2, 0),
        ("2026-03-09", 1, 0, 1),
        ("2026-03-16", 1, 1, 1),
    ]
    assert result.facts == [("Open now", "1 of 3 follow-ups")]


def test_each_person_counts_the_deployments_they_may_see(dataset, lead, manager, client_of):
    assert report(lead, Filters())["charts"]["follow-ups-open"].rows == [
        ("2026-03-02", 2, 2, 0),
        ("2026-03-09", 1, 0, 1),
    ]
    assert len(report(manager, Filters())["charts"]["follow-ups-open"].rows) == 3
    response = client_of(lead).get(reverse("history:chart_csv", args=["follow-ups-open"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Week", "Open", "Added", "Done"],
        ["2026-03-02", "2", "2", "0"],
        ["2026-03-09", "1", "0", "1"],
    ]
    page = client_of(lead).get(reverse("history:analytics")).content.decode()
    assert '<title id="chart-follow-ups-open-title">Follow-ups open per week</title>' in page
    assert "1 open in the last week" in page


def test_marking_a_follow_up_done_shows_at_once(dataset, manager):
    mine, _ = dataset
    assert report(manager, Filters())["charts"]["follow-ups-open"].facts == [
        ("Open now", "1 of 3 follow-ups")
    ]
    open_one = mine.follow_ups.get(done_at__isnull=True)
    open_one.done_at = timezone.now()
    open_one.save()
    facts = report(manager, Filters())["charts"]["follow-ups-open"].facts
    assert facts == [("Open now", "0 of 3 follow-ups")]
