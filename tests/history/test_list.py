"""The history list at /deployments/: filters, search, sorting, pages, access, htmx."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deploychecks.runs.models import Deployment, GateOverride
from deploychecks.runs.services import add_item_note, create_deployment

pytestmark = pytest.mark.django_db

URL = reverse("history:list")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _at(day, hour=10, minute=0):
    return dt.datetime(2026, *day, hour, minute, tzinfo=dt.UTC)


def _make(
    revision, lead, release, version, service, *, environment="production", engineers=(), **fields
):
    """A deployment made the real way, then moved to a past state (status, times)."""
    deployment = create_deployment(
        revision,
        user=lead,
        release_name=release,
        version=version,
        service=service,
        environment=environment,
        lead=lead,
        engineers=engineers,
    )
    if fields:
        Deployment.objects.filter(pk=deployment.pk).update(**fields)
        deployment.refresh_from_db()
    return deployment


def _bulk(revision, count, *, lead, prefix="Bulk"):
    """Many bare deployments at once (no checklist): for pages and query counts."""
    return Deployment.objects.bulk_create(
        Deployment(
            revision=revision,
            template_name="t",
            release_name=f"{prefix} {n:03d}",
            version=f"1.{n}",
            service="bulk-svc",
            lead=lead,
            status="completed",
            started_at=_at((1, 1)) + dt.timedelta(hours=n),
            ended_at=_at((1, 1)) + dt.timedelta(hours=n, minutes=30),
        )
        for n in range(count)
    )


@pytest.fixture
def history(revision, lead, engineer, second_engineer):
    """Three deployments: lena's finished one (erin on it), sam's rollback, erin's plan."""
    spring = _make(
        revision,
        lead,
        "Spring release",
        "2.0.0",
        "checkout-api",
        engineers=[engineer],
        previous_version="1.1.0",
        status="completed",
        started_at=_at((3, 2)),
        ended_at=_at((3, 2), 11, 30),
    )
    hotfix = _make(
        revision, second_engineer, "Payments hotfix", "3.4.1", "payments", environment="staging"
    )
    item = hotfix.items.order_by("phase__position", "position").first()
    add_item_note(
        deployment_id=hotfix.pk,
        item_id=item.pk,
        user=second_engineer,
        body="Replica lag during the database FAILOVER rehearsal",
    )
    Deployment.objects.filter(pk=hotfix.pk).update(
        status="rolled_back", started_at=_at((4, 10)), ended_at=_at((4, 10), 14, 5)
    )
    plan = _make(revision, engineer, "Search revamp", "5.0.0", "search", planned_start=_at((5, 1)))
    return {"spring": spring, "hotfix": hotfix, "plan": plan}


def _releases(response) -> list[str]:
    """The release names in the table, in order."""
    html = response.content.decode()
    return re.findall(r'<th scope="row" class="release"><a href="[^"]+">([^<]+)</a>', html)


# Access


def test_manager_sees_every_deployment(history, manager):
    response = _client(manager).get(URL)

    assert response.status_code == 200
    assert sorted(_releases(response)) == ["Payments hotfix", "Search revamp", "Spring release"]
    assert "3 deployments" in response.content.decode()


def test_engineer_sees_the_deployments_they_lead_or_work_on_only(history, engineer):
    response = _client(engineer).get(URL)

    assert sorted(_releases(response)) == ["Search revamp", "Spring release"]


def test_outsider_sees_no_deployment_and_no_names_in_the_filters(history, outsider):
    response = _client(outsider).get(URL)

    html = response.content.decode()
    assert _releases(response) == []
    assert "No deployments you can see yet" in html
    assert "payments" not in html and "checkout-api" not in html and "Lena" not in html


def test_filter_choices_offer_only_what_the_user_can_see(history, engineer):
    html = _client(engineer).get(URL).content.decode()

    assert '<option value="checkout-api">' in html and '<option value="search">' in html
    assert "payments" not in html and "staging" not in html and "Sam Second" not in html


def test_anonymous_visitor_is_sent_to_log_in(history, client):
    assert client.get(URL).status_code == 302


# Search and filters


@pytest.mark.parametrize(
    "text, expected",
    [
        ("spring", ["Spring release"]),  # release name, any case
        ("5.0", ["Search revamp"]),  # version
        ("failover", ["Payments hotfix"]),  # only in a note on one of its items
        ("nothing like it", []),
    ],
)
def test_search_looks_in_release_name_version_and_notes(history, manager, text, expected):
    response = _client(manager).get(URL, {"q": text})

    assert _releases(response) == expected


def test_notes_are_searched_from_three_characters(history, manager):
    client = _client(manager)

    assert _releases(client.get(URL, {"q": "fa"})) == []  # would match "FAILOVER"
    assert _releases(client.get(URL, {"q": "fai"})) == ["Payments hotfix"]


def test_search_treats_like_wildcards_as_plain_text(history, manager):
    assert _releases(_client(manager).get(URL, {"q": "%"})) == []


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"service": "payments"}, ["Payments hotfix"]),
        ({"environment": "production"}, ["Search revamp", "Spring release"]),
        ({"outcome": "completed"}, ["Spring release"]),
        ({"outcome": "rolled_back"}, ["Payments hotfix"]),
        ({"outcome": "aborted"}, []),
        ({"outcome": "unfinished"}, ["Search revamp"]),
        ({"outcome": "planned", "environment": "production"}, ["Search revamp"]),
    ],
)
def test_each_filter_narrows_the_list(history, manager, params, expected):
    response = _client(manager).get(URL, params)

    assert sorted(_releases(response)) == expected


def test_the_gate_filter_finds_deployments_that_went_past_an_unmet_condition(
    history, manager, lead
):
    GateOverride.objects.create(
        deployment=history["spring"],
        to_status="completed",
        by=lead,
        by_name="Lena Lead",
        reason="Hotfix verified",
        conditions=[{"key": "window", "kind": "window", "label": "72 h after go-live"}],
        created_at=_at((3, 2), 11, 30),
    )
    client = _client(manager)

    overridden = client.get(URL, {"overridden": "yes"})
    assert _releases(overridden) == ["Spring release"]
    assert sorted(_releases(client.get(URL, {"overridden": "no"}))) == [
        "Payments hotfix",
        "Search revamp",
    ]
    html = client.get(URL).content.decode()
    assert html.count('class="badge override-badge"') == 1


def test_lead_filter_shows_that_persons_deployments(history, manager, second_engineer):
    response = _client(manager).get(URL, {"lead": second_engineer.pk})

    assert _releases(response) == ["Payments hotfix"]
    assert f'<option value="{second_engineer.pk}" selected>Sam Second</option>' in (
        response.content.decode()
    )


def test_lead_filter_for_someone_not_in_the_choices_stays_selected_without_a_name(
    history, engineer, second_engineer
):
    # erin sees none of sam's deployments, so sam is not among her choices.
    response = _client(engineer).get(URL, {"lead": second_engineer.pk})

    html = response.content.decode()
    pk = second_engineer.pk
    assert _releases(response) == []
    assert f'<option value="{pk}" selected>Lead #{pk}</option>' in html
    assert '<option value="" selected>Anyone</option>' not in html
    assert "Sam" not in html and ">sam<" not in html


def test_date_range_uses_start_then_planned_start_then_creation(history, manager, revision, lead):
    fresh = _make(revision, lead, "Created today", "0.1", "new-svc")
    client = _client(manager)

    april = client.get(URL, {"from": "2026-04-10", "to": "2026-05-01"})  # both days included
    march = client.get(URL, {"to": "2026-03-02"})
    today = client.get(URL, {"from": fresh.created_at.date().isoformat()})

    assert _releases(april) == ["Search revamp", "Payments hotfix"]
    assert _releases(march) == ["Spring release"]
    assert _releases(today) == ["Created today"]


def test_invalid_date_is_reported_and_the_rest_still_filters(history, manager):
    response = _client(manager).get(URL, {"from": "2026-13-45", "service": "payments"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "From: Enter a date as YYYY-MM-DD." in html
    assert _releases(response) == ["Payments hotfix"]


def test_reversed_date_range_is_reported(history, manager):
    response = _client(manager).get(URL, {"from": "2026-05-01", "to": "2026-04-01"})

    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()


def test_unknown_sort_and_page_fall_back_without_an_error(history, manager):
    response = _client(manager).get(URL, {"sort": "password", "page": "banana"})

    assert response.status_code == 200
    assert "Unknown sort order “password”" in response.content.decode()
    assert _releases(response) == ["Search revamp", "Payments hotfix", "Spring release"]


# Sorting


def test_default_order_is_newest_first(history, manager):
    assert _releases(_client(manager).get(URL)) == [
        "Search revamp",
        "Payments hotfix",
        "Spring release",
    ]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("release", ["Payments hotfix", "Search revamp", "Spring release"]),
        ("-release", ["Spring release", "Search revamp", "Payments hotfix"]),
        ("service", ["Spring release", "Payments hotfix", "Search revamp"]),
        ("version", ["Spring release", "Payments hotfix", "Search revamp"]),
        ("status", ["Spring release", "Search revamp", "Payments hotfix"]),
        ("lead", ["Search revamp", "Spring release", "Payments hotfix"]),  # Erin, Lena, Sam
        ("started", ["Spring release", "Payments hotfix", "Search revamp"]),
        # 3 h 55 min, 1 h 30 min, then the one not finished (last both ways).
        ("-duration", ["Payments hotfix", "Spring release", "Search revamp"]),
        ("duration", ["Spring release", "Payments hotfix", "Search revamp"]),
    ],
)
def test_columns_sort_both_ways(history, manager, engineer, sort, expected):
    engineer.first_name = "Erin"
    engineer.save()

    assert _releases(_client(manager).get(URL, {"sort": sort})) == expected


def test_sorted_column_has_aria_sort_and_its_link_toggles_the_direction(history, manager):
    html = _client(manager).get(URL, {"sort": "release", "outcome": "completed"}).content.decode()

    header = re.search(
        r'<th scope="col" aria-sort="(\w+)" class="sorted">\s*<a id="sort-(\w+)" '
        r'href="([^"]+)" hx-get="([^"]+)"',
        html,
    )
    assert header.group(1, 2) == ("ascending", "release")
    assert header.group(3) == header.group(4) == f"{URL}?outcome=completed&amp;sort=-release"
    assert html.count("aria-sort=") == 1


def test_ties_are_broken_by_id_so_pages_never_repeat_a_row(revision, lead, manager):
    same = _at((6, 1))
    Deployment.objects.bulk_create(
        Deployment(
            revision=revision,
            template_name="t",
            release_name="Twin",
            version="1",
            service="s",
            lead=lead,
            status="completed",
            started_at=same,
            ended_at=same,
        )
        for _ in range(60)
    )
    client = _client(manager)

    first = client.get(URL).context["page"].object_list
    second = client.get(URL, {"page": 2}).context["page"].object_list

    ids = [d.pk for d in first] + [d.pk for d in second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 60


# Pages


def test_pages_of_fifty_keep_the_filters_in_their_links(revision, lead, manager):
    _bulk(revision, 120, lead=lead)
    client = _client(manager)

    first = client.get(URL, {"q": "Bulk", "sort": "release"})
    last = client.get(URL, {"q": "Bulk", "sort": "release", "page": 3})

    html = first.content.decode()
    assert len(_releases(first)) == 50 and _releases(first)[0] == "Bulk 000"
    assert "120 deployments · page 1 of 3" in html
    assert f'href="{URL}?q=Bulk&amp;sort=release&amp;page=2"' in html
    assert f'href="{URL}?q=Bulk&amp;sort=release&amp;page=3"' in html
    assert _releases(last) == [f"Bulk {n:03d}" for n in range(100, 120)]
    assert f'href="{URL}?q=Bulk&amp;sort=release"' in last.content.decode()  # first page


# htmx


def test_htmx_request_gets_only_the_results_and_the_count(history, manager):
    response = _client(manager).get(URL, {"outcome": "completed", "q": ""}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html and 'id="history-filters"' not in html
    assert _releases(response) == ["Spring release"]
    assert '<span id="history-count" hx-swap-oob="innerHTML">1 deployment</span>' in html
    assert response["HX-Push-Url"] == f"{URL}?outcome=completed"
    assert "HX-Request" in response["Vary"]


def test_page_links_hand_the_focus_to_the_results_count(revision, lead, manager):
    _bulk(revision, 60, lead=lead)

    html = _client(manager).get(URL).content.decode()

    # static/js/history.js focuses the count after a page link's swap; no inline script (CSP).
    assert '<span id="history-count" role="status" tabindex="-1">' in html
    assert re.search(r'<script src="/static/js/history\.js" defer></script>', html)
    assert "<script>" not in html


def test_htmx_history_restore_gets_the_whole_page(history, manager):
    response = _client(manager).get(
        URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_filter_form_works_with_and_without_javascript(history, manager):
    html = _client(manager).get(URL, {"sort": "-release"}).content.decode()

    form = re.search(r"<form id=\"history-filters\"[^>]*>", html).group(0)
    assert f'method="get" action="{URL}"' in form and f'hx-get="{URL}"' in form
    assert 'hx-push-url="true"' in html
    assert "input changed delay:300ms from:#id_q" in form
    assert '<input type="hidden" name="sort" value="-release" form="history-filters">' in html


# Safety and speed


def test_hostile_release_name_is_escaped(revision, lead):
    # The version as a row stored before versions were validated could hold it.
    hostile = _make(revision, lead, "<script>alert('x')</script>", "1", 'svc"onmouseover="x')
    Deployment.objects.filter(pk=hostile.pk).update(version="1<b>")

    html = _client(lead).get(URL).content.decode()

    assert "<script>alert" not in html and "1<b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "svc&quot;onmouseover=&quot;x" in html


@pytest.mark.parametrize("who", ["manager", "lead"])
def test_query_count_does_not_grow_with_the_number_of_deployments(
    request, revision, make_user, who
):
    viewer = request.getfixturevalue(who)
    leads = [make_user(f"lead{n}", first_name=f"L{n}") for n in range(30)]
    client = _client(viewer)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL, {"sort": "lead"}).status_code == 200
        return len(context.captured_queries)

    for n in range(3):
        _bulk(revision, 1, lead=leads[n] if who == "manager" else viewer, prefix=f"A{n}")
    few = queries()
    for n in range(3, 30):
        _bulk(revision, 1, lead=leads[n] if who == "manager" else viewer, prefix=f"A{n}")
    many = queries()

    assert len(_releases(client.get(URL))) == 30
    assert few == many <= 9
