"""The analytics page: each chart's numbers on a small known history, filters,
visibility, escaping, CSV downloads, the cache, and (last) the page in a real browser.

The history (all times UTC, 2026):
  d1 checkout-api/production, lena leads, erin engineers: completed, started Mon 03-02 10:00,
     live 11:00. Phase 1 spans 30 min. Item "<script>…" N/A, item X left open, the rollback
     procedure left open (not skipped: nothing was rolled back).
     Sign-offs: Engineering Manager at 10:50 (-10 min), QA Lead at 11:20 (+20).
     Reminders: acknowledged after 3 min (sent 1 min after due: within the dispatcher's grace);
     after 30 min (sent 5 min late); one never acknowledged.
  d2 checkout-api/production, lena, erin: rolled back, started Wed 03-04 10:00, live 11:00.
     Phase 1 spans 50 min. Item X N/A, item Y open (never reached: not skipped).
     Sign-offs: QA Lead at 11:40 (superseded) and 12:00.
     Reminder acknowledged after 120 min.
  d3 billing/staging, otto leads: completed, started Tue 04-07 10:00, never live.
     Phase 1 spans 10 min. Item X N/A, item Y left open. Sign-off: Product Manager at 10:15.
  d4 checkout-api/production, lena: in progress, started Tue 03-03 (not finished: only the
     weekly chart counts it). A reminder acknowledged after 1 min, not counted.
  d5 checkout-api/production, lena: planned, created Tue 03-10.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import expect

from deploychecks.history.analytics import CHARTS, Filters, report
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Deployment, DeploymentRole, GateOverride, RunItem
from deploychecks.runs.services import change_status, create_deployment
from deploychecks.signoffs.models import SignOff
from tests.retros.data import follow_up

pytestmark = pytest.mark.django_db
HOSTILE_ITEM = "<script>alert('item')</script>"


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _deployment(
    revision,
    lead,
    *,
    status,
    service="checkout-api",
    environment="production",
    engineers=(),
    started=None,
    go_live=None,
):
    deployment = create_deployment(
        revision,
        user=lead,
        release_name="Release",
        version="1.0",
        service=service,
        environment=environment,
        lead=lead,
        engineers=engineers,
    )
    finished = status in ("completed", "rolled_back", "aborted")
    Deployment.objects.filter(pk=deployment.pk).update(
        status=status,
        started_at=started,
        go_live_at=go_live,
        ended_at=started + timedelta(hours=3) if finished else None,
    )
    if finished:
        RunItem.objects.filter(deployment=deployment).update(state="done", changed_at=started)
    deployment.refresh_from_db()
    return deployment


def _phase_one_spans(deployment, start, minutes):
    last = RunItem.objects.filter(deployment=deployment, phase__position=1).order_by("-position")[0]
    RunItem.objects.filter(pk=last.pk).update(changed_at=start + timedelta(minutes=minutes))


def _phase_two_item(deployment, index) -> RunItem:
    items = RunItem.objects.filter(deployment=deployment, phase__position=2)
    return items.order_by("position")[index]


def _mark(deployment, index, state, title=None):
    item = _phase_two_item(deployment, index)
    fields = {"state": state, "na_reason": "Not needed" if state == "na" else ""}
    if title:
        fields["title"] = title
    RunItem.objects.filter(pk=item.pk).update(**fields)


def _sign(deployment, role_name, when, approver, status="valid"):
    role = DeploymentRole.objects.get(deployment=deployment, name=role_name)
    signoff = SignOff.objects.create(
        deployment=deployment,
        role=role,
        signer=approver,
        signer_name=approver.username,
        deployment_lead=deployment.lead,
        decision="approve",
        checklist_hash="0" * 64,
        checklist_seq=1,
        status=status,
    )
    SignOff.objects.filter(pk=signoff.pk).update(created_at=when)


def _reminder(deployment, sent, acknowledged=None, late=0):
    Reminder.objects.create(
        deployment=deployment,
        title="Check the error rate",
        offset_minutes=15,
        due_at=sent,
        sent_at=sent,
        late_by=timedelta(minutes=late),
        status="acknowledged" if acknowledged else "sent",
        acknowledged_at=acknowledged,
    )


@pytest.fixture
def history(revision, lead, engineer, outsider, approver, second_engineer):
    d1 = _deployment(
        revision,
        lead,
        status="completed",
        engineers=[engineer],
        started=at("03-02T10:00"),
        go_live=at("03-02T11:00"),
    )
    d2 = _deployment(
        revision,
        lead,
        status="rolled_back",
        engineers=[engineer],
        started=at("03-04T10:00"),
        go_live=at("03-04T11:00"),
    )
    d3 = _deployment(
        revision,
        outsider,
        status="completed",
        service="billing",
        environment="staging",
        started=at("04-07T10:00"),
    )
    d4 = _deployment(revision, lead, status="in_progress", started=at("03-03T10:00"))
    d5 = _deployment(revision, lead, status="planned")
    Deployment.objects.filter(pk=d5.pk).update(created_at=at("03-10T09:00"))
    for deployment, minutes in ((d1, 30), (d2, 50), (d3, 10)):
        _phase_one_spans(deployment, deployment.started_at, minutes)
    _mark(d1, 0, "na", title=HOSTILE_ITEM)
    _mark(d1, 1, "open")
    _mark(d2, 1, "na")
    _mark(d3, 1, "na")
    _mark(d3, 2, "open")
    _mark(d2, 2, "open")
    RunItem.objects.filter(deployment=d1, phase__is_rollback=True).update(state="open")
    # One person signs one role of a deployment (the database refuses a second).
    _sign(d1, "Engineering Manager", at("03-02T10:50"), second_engineer)
    _sign(d1, "QA Lead", at("03-02T11:20"), approver)
    _sign(d2, "QA Lead", at("03-04T11:40"), approver, status="superseded")
    _sign(d2, "QA Lead", at("03-04T12:00"), approver)
    _sign(d3, "Product Manager", at("04-07T10:15"), approver)
    _reminder(d1, at("03-02T11:15"), at("03-02T11:18"), late=1)
    _reminder(d1, at("03-02T11:30"), at("03-02T12:00"), late=5)
    _reminder(d1, at("03-02T11:45"))
    _reminder(d2, at("03-04T11:00"), at("03-04T13:00"))
    _reminder(d4, at("03-03T11:00"), at("03-03T11:01"))
    # d1 went live past an open item and completed early; d3 completed past a sign-off.
    _override(d1, "monitoring", at("03-02T11:00"), lead)
    _override(d1, "completed", at("03-05T09:00"), lead)
    _override(d3, "completed", at("04-08T10:00"), outsider)
    # Follow-ups of d1's retrospective: one done a week later, one still open.
    follow_up(d1, at("03-05T10:00"), at("03-12T10:00"))
    follow_up(d1, at("03-05T11:00"))
    return {
        "d1": d1,
        "d2": d2,
        "d3": d3,
        "d4": d4,
        "d5": d5,
        "X": _phase_two_item(d2, 1).title,
        "Y": _phase_two_item(d3, 2).title,
    }


def _override(deployment, to, when, by):
    GateOverride.objects.create(
        deployment=deployment,
        to_status=to,
        by=by,
        by_name=by.username,
        reason="Agreed with the change board",
        conditions=[{"key": "window", "kind": "window", "label": "72 h after go-live"}],
        created_at=when,
    )


def test_overrides_are_counted_per_month_going_live_and_completing(history, manager):
    assert _rows(manager, "overrides") == [("2026-03", 1, 1, 2), ("2026-04", 0, 1, 1)]
    facts = report(manager, Filters())["charts"]["overrides"].facts
    assert facts == [("Deployments overridden", "2 of 5")]
    assert _rows(manager, "overrides", service="billing") == [("2026-04", 0, 1, 1)]


def _rows(user, slug, **filters):
    return report(user, Filters(**filters))["charts"][slug].rows


class _PanelReader(HTMLParser):
    """Each chart panel's table (header and body rows, cell text) and CSV link."""

    def __init__(self):
        super().__init__()
        self.panels, self.slug, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "chart-panel" in (attrs.get("class") or ""):
            self.slug = attrs["id"]
            self.panels[self.slug] = {"columns": [], "rows": [], "csv_url": None}
        elif self.slug and tag == "tr":
            self.row = []
        elif self.slug and tag in ("th", "td") and self.row is not None:
            self.cell = ""
        elif self.slug and tag == "a" and "download" in attrs:
            self.panels[self.slug]["csv_url"] = attrs["href"]

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            panel = self.panels[self.slug]
            if not panel["columns"]:
                panel["columns"] = self.row
            elif self.row != ["No rows."]:
                panel["rows"].append(self.row)
            self.row = None
        elif tag == "section":
            self.slug = None


def _panels(html: str) -> dict:
    reader = _PanelReader()
    reader.feed(html)
    return reader.panels


# --- Each chart's numbers ------------------------------------------------------------------


def test_deployments_per_week_counts_each_status_in_the_week_it_started(history, manager):
    rows = _rows(manager, "deployments-per-week")
    # Week, completed, rolled back, aborted, monitoring, in progress, planned, total.
    assert rows == [
        ("2026-03-02", 1, 1, 0, 0, 1, 0, 3),
        ("2026-03-09", 0, 0, 0, 0, 0, 1, 1),
        ("2026-03-16", 0, 0, 0, 0, 0, 0, 0),
        ("2026-03-23", 0, 0, 0, 0, 0, 0, 0),
        ("2026-03-30", 0, 0, 0, 0, 0, 0, 0),
        ("2026-04-06", 1, 0, 0, 0, 0, 0, 1),
    ]


def test_rollback_rate_is_rolled_back_over_finished_per_month(history, manager):
    assert _rows(manager, "rollback-rate") == [("2026-03", 2, 1, 50.0), ("2026-04", 1, 0, 0.0)]


def test_phase_duration_is_the_median_span_of_done_items_per_phase_title(history, manager):
    rows = _rows(manager, "phase-duration")
    assert rows[0] == ("Phase 1: Pre-deployment verification", 3, 30.0)
    # Every other phase's items were all closed at the same moment.
    assert [row[2] for row in rows[1:]] == [0.0] * (len(rows) - 1)


def test_skipped_items_count_na_items_and_items_completed_deployments_left_open(history, manager):
    assert _rows(manager, "skipped-items") == [
        (history["X"], 2, 1, 3),
        (HOSTILE_ITEM, 1, 0, 1),
        (history["Y"], 0, 1, 1),
    ]


def test_signoff_delay_is_measured_from_go_live_or_else_the_start(history, manager):
    assert _rows(manager, "signoff-delay") == [
        ("Engineering Manager", 1, -10.0, -10.0),
        ("Product Manager", 1, 15.0, 15.0),
        ("QA Lead", 3, 40.0, 56.0),
    ]


def test_reminder_acknowledgement_times_fall_in_buckets_and_late_ones_are_counted(
    history, manager, settings
):
    settings.REMINDER_LATE_AFTER_SECONDS = 120
    result = report(manager, Filters())["charts"]["reminder-ack"]
    assert result.rows == [
        ("under 5 min", 1),
        ("5–15 min", 0),
        ("15–60 min", 1),
        ("1–4 h", 1),
        ("4 h or more", 0),
    ]
    assert dict(result.facts) == {
        "Acknowledged": "3 of 4 sent",
        "Median time to acknowledge": "30.0 min",
        "Sent late": "1 of 4",
    }


# --- Filters and visibility ------------------------------------------------------------------


def test_service_filter_narrows_every_chart(history, manager):
    assert _rows(manager, "rollback-rate", service="billing") == [("2026-04", 1, 0, 0.0)]
    assert _rows(manager, "phase-duration", service="billing")[0][1:] == (1, 10.0)
    assert _rows(manager, "signoff-delay", service="billing") == [
        ("Product Manager", 1, 15.0, 15.0)
    ]
    assert _rows(manager, "reminder-ack", service="billing") == []


def test_environment_and_date_filters_narrow_the_numbers(history, manager):
    assert _rows(manager, "rollback-rate", environment="production") == [("2026-03", 2, 1, 50.0)]
    march_4 = datetime(2026, 3, 4).date()
    assert _rows(manager, "rollback-rate", date_from=march_4) == [
        ("2026-03", 1, 1, 100.0),
        ("2026-04", 1, 0, 0.0),
    ]
    assert _rows(manager, "rollback-rate", date_to=march_4) == [("2026-03", 2, 1, 50.0)]
    assert _rows(manager, "rollback-rate", date_from=march_4, date_to=march_4) == [
        ("2026-03", 1, 1, 100.0)
    ]


def test_the_page_filters_by_query_string(history, manager):
    response = _client(manager).get(reverse("history:analytics"), {"service": "billing"})
    panels = _panels(response.content.decode())
    assert panels["rollback-rate"]["rows"] == [["2026-04", "1", "0", "0.0"]]
    assert panels["rollback-rate"]["csv_url"].endswith(
        "/analytics/rollback-rate.csv?service=billing"
    )


def test_non_manager_only_counts_deployments_they_lead_or_work_on(history, outsider, engineer):
    assert _rows(outsider, "rollback-rate") == [("2026-04", 1, 0, 0.0)]
    assert _rows(outsider, "skipped-items") == [(history["X"], 1, 0, 1), (history["Y"], 0, 1, 1)]
    assert _rows(outsider, "signoff-delay") == [("Product Manager", 1, 15.0, 15.0)]
    assert _rows(engineer, "rollback-rate") == [("2026-03", 2, 1, 50.0)]
    assert _rows(engineer, "phase-duration")[0][1:] == (2, 40.0)


def test_a_service_the_user_cannot_see_is_refused_with_a_clear_error(history, outsider):
    response = _client(outsider).get(reverse("history:analytics"), {"service": "checkout-api"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "These filters cannot be used" in html and "Select a valid choice" in html
    assert "<svg" not in html
    response = _client(outsider).get(
        reverse("history:chart_csv", args=["rollback-rate"]), {"service": "checkout-api"}
    )
    assert response.status_code == 400


def test_invalid_dates_show_an_error_and_the_page_still_renders(history, manager):
    client = _client(manager)
    response = client.get(reverse("history:analytics"), {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    assert 'aria-invalid="true" aria-describedby="id_date_from-error"' in response.content.decode()
    assert "<h1>Analytics</h1>" in response.content.decode()
    response = client.get(
        reverse("history:analytics"), {"date_from": "2026-04-01", "date_to": "2026-03-01"}
    )
    assert "The end date must not be before the start date." in response.content.decode()


def test_htmx_filtering_answers_with_the_results_fragment(history, manager):
    response = _client(manager).get(
        reverse("history:analytics"), {"service": "billing"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="analytics-results">')
    assert "<h1>" not in html and "<svg" in html
    assert "HX-Request" in response["Vary"]


# --- The page: SVG, accessibility, escaping ---------------------------------------------


def test_every_chart_is_an_accessible_svg_with_a_table_and_a_csv_link(history, manager):
    response = _client(manager).get(reverse("history:analytics"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == len(CHARTS)
    for slug, chart in CHARTS.items():
        assert f'<title id="chart-{slug}-title">{chart.title}</title>' in html
        assert f'<desc id="chart-{slug}-desc">' in html
        assert reverse("history:chart_csv", args=[slug]) in html
    assert html.count("<details") == len(CHARTS) and html.count("<table") == len(CHARTS)
    assert 'viewBox="0 0 360' in html and 'width="100%"' in html
    assert "Computed at <time" in html


def _svg(html: str, slug: str) -> str:
    return html.split(f'id="chart-{slug}"', 1)[1].split("</svg>", 1)[0]


def test_computed_at_names_its_time_zone(history, manager, settings):
    settings.TIME_ZONE = "Europe/Helsinki"
    html = _client(manager).get(reverse("history:analytics")).content.decode()
    assert re.search(r'Computed at <time datetime="[^"]+">\d\d:\d\d EES?T</time>', html)


def test_more_than_a_year_of_weeks_is_drawn_by_month_and_tabled_by_week(revision, lead, manager):
    _deployment(revision, lead, status="completed", started=at("03-02T10:00"))
    _deployment(revision, lead, status="rolled_back", started=at("03-04T10:00"))
    _deployment(
        revision, lead, status="completed", started=datetime(2025, 1, 8, 10, tzinfo=UTC)
    )  # week of Monday 2025-01-06
    client = _client(manager)

    html = client.get(reverse("history:analytics")).content.decode()

    weekly = _panels(html)["deployments-per-week"]["rows"]
    assert len(weekly) == 61 and weekly[0][0] == "2025-01-06" and weekly[-1][0] == "2026-03-02"
    svg = _svg(html, "deployments-per-week")
    assert "3 deployments in 15 months from 2025-01 to 2026-03" in svg
    assert svg.count("<rect") == 3
    assert "<title>2025-01: 1 completed</title>" in svg
    assert "<title>2026-03: 1 completed</title>" in svg
    assert "<title>2026-03: 1 rolled back</title>" in svg
    assert "Drawn by month over more than a year" in html
    # Within a year the bars stay weekly.
    html = client.get(reverse("history:analytics"), {"date_from": "2025-06-01"}).content.decode()
    assert "in 1 weeks from 2026-03-02" in _svg(html, "deployments-per-week")
    assert "Drawn by month" not in html


def test_phase_durations_are_written_in_one_unit_per_chart(revision, lead, manager):
    deployment = _deployment(revision, lead, status="completed", started=at("03-02T10:00"))
    _phase_one_spans(deployment, deployment.started_at, 102)
    last = RunItem.objects.filter(deployment=deployment, phase__position=2).order_by("-position")[0]
    RunItem.objects.filter(pk=last.pk).update(
        changed_at=deployment.started_at + timedelta(minutes=170)
    )

    html = _client(manager).get(reverse("history:analytics")).content.decode()

    svg = _svg(html, "phase-duration")
    assert "1.7 h" in svg and "2.8 h" in svg and "0 h" in svg
    assert " min" not in svg
    # The table keeps minutes.
    assert [row[2] for row in _panels(html)["phase-duration"]["rows"][:2]] == ["102.0", "170.0"]


def test_hostile_item_and_role_names_are_escaped_in_the_svg_and_table(history, manager):
    DeploymentRole.objects.filter(deployment=history["d3"], name="Product Manager").update(
        name='<img src=x onerror="alert(1)">'
    )
    html = _client(manager).get(reverse("history:analytics")).content.decode()
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;item&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    svg = html.split('id="chart-skipped-items"', 1)[1].split("</svg>", 1)[0]
    assert "&lt;script&gt;" in svg


def test_a_user_without_deployments_sees_empty_charts(outsider):
    response = _client(outsider).get(reverse("history:analytics"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" not in html and html.count("No data for these filters yet.") == len(CHARTS)


def test_anonymous_users_are_sent_to_the_login_page(history):
    for url in (reverse("history:analytics"), reverse("history:chart_csv", args=["rollback-rate"])):
        response = Client().get(url)
        assert response.status_code == 302 and "/login" in response["Location"]


# --- CSV ------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_download_holds_the_rows_of_the_charts_table(history, manager):
    client = _client(manager)
    panels = _panels(
        client.get(reverse("history:analytics"), {"environment": "production"}).content.decode()
    )
    assert len(panels) == len(CHARTS)
    for slug, chart in CHARTS.items():
        assert "environment=production" in panels[slug]["csv_url"]
        response = client.get(panels[slug]["csv_url"])
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith(
            f'attachment; filename="deploychecks-{slug}-'
        )
        rows = _csv(response)
        assert rows[0] == panels[slug]["columns"] == list(chart.columns)
        table = [["" if cell == "—" else cell for cell in row] for row in panels[slug]["rows"]]
        assert rows[1:] == [[_defused(cell) for cell in row] for row in table]
    assert panels["signoff-delay"]["rows"][0] == ["Engineering Manager", "1", "-10.0", "-10.0"]
    # CSV is not HTML: the item's title is written as it is.
    assert [HOSTILE_ITEM, "1", "0", "1"] in _csv(client.get(panels["skipped-items"]["csv_url"]))


def _defused(cell: str) -> str:
    """What the CSV holds for a table cell: text that looks like a formula gets a quote."""
    if cell.startswith(("=", "+", "-", "@")) and not _number(cell):
        return "'" + cell
    return cell


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_follows_the_filters(history, manager):
    response = _client(manager).get(
        reverse("history:chart_csv", args=["rollback-rate"]), {"service": "billing"}
    )
    assert _csv(response) == [
        ["Month", "Finished", "Rolled back", "Rollback rate (%)"],
        ["2026-04", "1", "0", "0.0"],
    ]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(history, manager):
    _mark(history["d1"], 3, "na", title='=HYPERLINK("http://evil.example","x")')
    _mark(history["d1"], 4, "na", title="@SUM(A1)")
    _mark(history["d1"], 5, "na", title="-2+3")
    rows = _csv(_client(manager).get(reverse("history:chart_csv", args=["skipped-items"])))
    titles = [row[0] for row in rows[1:]]
    assert """'=HYPERLINK("http://evil.example","x")""" in titles
    assert "'@SUM(A1)" in titles and "'-2+3" in titles
    assert not any(title.startswith(("=", "@", "-", "+")) for title in titles)


def test_an_unknown_chart_is_not_found(manager):
    response = _client(manager).get(reverse("history:chart_csv", args=["secrets"]))
    assert response.status_code == 404


# --- Cache ----------------------------------------------------------------------------------


def test_numbers_are_cached_until_a_deployment_changes_status(history, manager, lead):
    first = report(manager, Filters())
    assert report(manager, Filters())["computed_at"] == first["computed_at"]
    change_status(deployment_id=history["d4"].pk, to="rolled_back", user=lead)
    after = report(manager, Filters())
    assert after["computed_at"] > first["computed_at"]
    assert after["charts"]["rollback-rate"].rows[0] == ("2026-03", 3, 2, 66.7)


def test_the_page_shows_a_newly_finished_deployment(history, manager, lead):
    client = _client(manager)
    before = client.get(reverse("history:analytics")).content.decode()
    assert '<td class="num">66.7</td>' not in before
    change_status(deployment_id=history["d4"].pk, to="rolled_back", user=lead)
    after = client.get(reverse("history:analytics")).content.decode()
    assert '<td class="num">66.7</td>' in after


def test_starting_a_deployment_recomputes_only_the_weekly_chart(history, manager, lead):
    before = report(manager, Filters())
    change_status(deployment_id=history["d5"].pk, to="in_progress", user=lead)
    with CaptureQueriesContext(connection) as queries:
        after = report(manager, Filters())
    assert not any(
        "runs_runitem" in q["sql"] or "signoffs_signoff" in q["sql"]
        for q in queries.captured_queries
    )
    assert (
        after["charts"]["deployments-per-week"].rows
        != before["charts"]["deployments-per-week"].rows
    )
    assert after["charts"]["phase-duration"] == before["charts"]["phase-duration"]


def test_managers_share_the_cached_numbers_and_others_get_their_own(
    history, manager, make_user, outsider
):
    other_manager = make_user("max")
    other_manager.groups.add(Group.objects.get(name="managers"))
    first = report(manager, Filters())
    assert report(other_manager, Filters())["computed_at"] == first["computed_at"]
    assert report(outsider, Filters())["charts"]["rollback-rate"].rows == [("2026-04", 1, 0, 0.0)]


def test_the_scheduled_warm_up_computes_what_a_manager_then_reads_from_the_cache(
    history, manager, lead
):
    from django.conf import settings

    from deploychecks.history.tasks import warm_analytics

    entry = settings.CELERY_BEAT_SCHEDULE["warm-analytics"]
    assert entry["task"] == warm_analytics.name
    assert warm_analytics() == len(CHARTS)
    assert warm_analytics() == 0  # nothing finished since: a cache read
    change_status(deployment_id=history["d4"].pk, to="rolled_back", user=lead)
    assert warm_analytics() == len(CHARTS)  # a deployment finished: every chart again

    with CaptureQueriesContext(connection) as queries:
        page = _client(manager).get(reverse("history:analytics")).content.decode()
    assert '<td class="num">66.7</td>' in page
    assert not any(
        "runs_runitem" in q["sql"] or "signoffs_signoff" in q["sql"]
        for q in queries.captured_queries
    )


# --- In a real browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_analytics_fits_a_phone_and_filters_without_a_reload(
    open_as, history, manager, purge_audit_events
):
    """A 375 px phone, the CSP, htmx filtering and the numbers reachable from the keyboard."""
    violations = []
    page = open_as(manager, "/analytics/", width=375, height=800)
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    expect(page.locator("#chart-rollback-rate")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("svg[role=img]").count() == len(CHARTS)

    page.select_option("#id_service", "billing")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/analytics/\?service=billing"))
    rows = page.locator("#rollback-rate tbody tr")
    expect(rows).to_have_count(1)

    summary = page.locator("#rollback-rate summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(rows.first).to_be_visible()
    expect(rows.first).to_contain_text("2026-04")
    assert page.console_errors == [] and violations == []
