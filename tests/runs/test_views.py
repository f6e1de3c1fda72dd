import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.gonogo.models import DeploymentSignal
from deploychecks.runs.services import (
    add_item_note,
    change_status,
    create_deployment,
    set_item_state,
    set_subcheck_state,
)
from deploychecks.runs.templatetags.runs import ACTION_LABELS, action_label
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _tick(client, deployment, item, state="done", version=1, reason="", **extra):
    return client.post(
        reverse("runs:item_state", args=[deployment.pk, item.pk]),
        {"state": state, "version": version, "reason": reason},
        HTTP_HX_REQUEST="true",
        **extra,
    )


def test_run_page_shows_the_checklist_with_progress(deployment, engineer):
    response = _client(engineer).get(deployment.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Spring release" in html and "1.1.0 → 2.0.0" in html
    assert html.count('class="run-item') == 89
    assert 'id="overall-progress"' in html and "0 of 89 done" in html
    assert f'data-seq="{deployment.seq}"' in html
    assert 'id="live-status"' in html


def test_outsider_gets_404_everywhere(deployment, outsider, first_item):
    client = _client(outsider)
    urls = [
        reverse("runs:detail", args=[deployment.pk]),
        reverse("runs:checklist", args=[deployment.pk]),
        reverse("runs:timeline", args=[deployment.pk]),
        reverse("runs:presence", args=[deployment.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert _tick(client, deployment, first_item).status_code == 404
    first_item.refresh_from_db()
    assert first_item.state == "open"


def test_tick_returns_the_fresh_row_and_progress(deployment, engineer, first_item):
    response = _tick(_client(engineer), deployment, first_item)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="item-{first_item.pk}" class="run-item state-done"' in html
    assert 'id="overall-progress"' in html and "1 of 89 done" in html


def test_stale_tick_gets_409_and_the_current_row(deployment, engineer, second_engineer, first_item):
    _tick(_client(engineer), deployment, first_item, "done", 1)
    response = _tick(_client(second_engineer), deployment, first_item, "na", 1, reason="not needed")
    html = response.content.decode()
    assert response.status_code == 409
    assert "state-done" in html and "meanwhile" in html


def test_viewer_cannot_tick(deployment, viewer, first_item):
    response = _tick(_client(viewer), deployment, first_item)
    assert response.status_code == 403
    first_item.refresh_from_db()
    assert first_item.state == "open"


def test_state_changes_need_a_csrf_token(deployment, engineer, first_item):
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)
    assert _tick(client, deployment, first_item).status_code == 403
    first_item.refresh_from_db()
    assert first_item.state == "open"


def test_get_never_changes_state(deployment, engineer, first_item):
    url = reverse("runs:item_state", args=[deployment.pk, first_item.pk])
    assert _client(engineer).get(url, {"state": "done", "version": 1}).status_code == 405


def test_illegal_transition_is_refused_with_a_reason(deployment, lead):
    response = _client(lead).post(
        reverse("runs:status", args=[deployment.pk]), {"to": "completed"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert "cannot become completed" in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == "planned"


def test_user_text_is_inert_in_the_page(deployment, engineer, first_item):
    client = _client(engineer)
    client.post(
        reverse("runs:add_note", args=[deployment.pk, first_item.pk]),
        {"body": "<script>alert(1)</script><img src=x onerror=alert(2)>"},
        HTTP_HX_REQUEST="true",
    )
    html = client.get(deployment.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_timeline_filters_by_person_and_action(deployment, engineer, lead, first_item):
    _tick(_client(engineer), deployment, first_item)
    client = _client(lead)
    url = reverse("runs:timeline", args=[deployment.pk])

    def events(**filters):
        html = client.get(url, filters).content.decode()
        return html[html.index('<ol class="timeline"') :]

    by_engineer = events(actor=engineer.pk)
    assert 'data-action="item.ticked"' in by_engineer
    assert 'data-action="deployment.created"' not in by_engineer
    created = events(kind="deployment.created")
    assert 'data-action="deployment.created"' in created
    assert 'data-action="item.ticked"' not in created


def _run_page_queries(user, deployment) -> int:
    client = _client(user)
    client.get(deployment.get_absolute_url())  # warm caches (content types, session)
    cache.clear()  # and render the checklist again, as after any change
    with CaptureQueriesContext(connection) as queries:
        assert client.get(deployment.get_absolute_url()).status_code == 200
    return len(queries)


def test_run_page_query_count_does_not_grow_with_items(deployment, lead):
    small = save_template(
        parse_checklist(
            "# Tiny\n\n## Phase\n\n### Section\n\n- [ ] **One**\n  - [ ] sub\n\n"
            "1. **Step** (2 min)\n   - [ ] **Two**\n"
        ),
        user=lead,
    )
    tiny = create_deployment(
        small, user=lead, release_name="Tiny", version="1", service="svc", lead=lead
    )
    assert tiny.items.count() == 2 and deployment.items.count() == 89
    # The same go/no-go signals on both, so only the number of items differs
    # (the panel reads readings with one query when there are signals, none when none).
    for signal in DeploymentSignal.objects.filter(deployment=deployment):
        signal.pk, signal.deployment = None, tiny
        signal.save()
    assert _run_page_queries(lead, tiny) == _run_page_queries(lead, deployment)


def test_create_deployment_from_the_form(revision, lead, engineer):
    client = _client(may_start_deployments(lead))
    response = client.post(
        reverse("runs:create"),
        {
            "revision": revision.pk,
            "release_name": "Autumn",
            "version": "2.1.0",
            "previous_version": "2.0.0",
            "service": "billing",
            "environment": "production",
            "engineers": [engineer.pk],
        },
    )
    assert response.status_code == 302
    deployment = lead.led_deployments.get(release_name="Autumn")
    assert deployment.items.count() == 89
    assert deployment.participants.get().user == engineer
    bad = client.post(
        reverse("runs:create"),
        {"revision": revision.pk, "release_name": " ", "version": "", "service": "x"},
    )
    assert bad.status_code == 422
    assert lead.led_deployments.count() == 1


def _item_row(html: str, item) -> str:
    return re.search(rf'<li id="item-{item.pk}".*?</form>', html, re.S).group(0)


def test_run_page_reuses_its_rendered_checklist_until_the_deployment_changes(
    deployment, first_item, engineer, second_engineer, viewer
):
    cache.clear()
    url = deployment.get_absolute_url()
    client = _client(engineer)
    client.get(url)  # sessions and content types
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    cold = len(queries)  # now: the next request empties the connection's log
    with CaptureQueriesContext(connection) as queries:
        before = client.get(url).content.decode()
    warm = len(queries)
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=second_engineer,
    )
    after = client.get(url).content.decode()
    read_only = _client(viewer).get(url).content.decode()

    # The items, sub-checks and notes are not read again for the same version.
    assert warm < cold - 3
    assert "state-open" in _item_row(before, first_item)
    # A change is a new version: the page shows it at once.
    row = _item_row(after, first_item)
    assert "state-done" in row and "checked" in row and "disabled" not in row
    assert re.search(
        r'Done by <bdi>Sam Second</bdi> <time datetime="[^"]+" title="[^"]+" '
        r'data-relative="ago">',
        after,
    )
    # Same version, another variant: a viewer's checkboxes stay read-only.
    assert "disabled" in _item_row(read_only, first_item)


def _item_html(html: str, item) -> str:
    """The item's whole row (its `<li>` up to the next item's or the list's end)."""
    start = html.index(f'<li id="item-{item.pk}"')
    end = html.find('<li id="item-', start + 1)
    return html[start : end if end != -1 else None]


def _row_head(row: str) -> str:
    return row[: row.index("</form>")]


def test_rows_reused_from_the_item_cache_equal_a_fresh_render(
    deployment, engineer, second_engineer, viewer, django_capture_on_commit_callbacks
):
    item = deployment.items.filter(subchecks__isnull=False).order_by("pk").first()
    sub = item.subchecks.order_by("position").first()
    url = deployment.get_absolute_url()
    client = _client(engineer)
    client.get(url)  # every row now cached, as first rendered
    with django_capture_on_commit_callbacks(execute=True):  # its broadcast caches the row
        assert _tick(client, deployment, item).status_code == 200
    after_tick = _item_html(client.get(url).content.decode(), item)
    viewer_row = _item_html(_client(viewer).get(url).content.decode(), item)
    # Without their broadcasts (these callbacks never run), so the page itself
    # must notice that the cached row is out of date.
    set_subcheck_state(
        deployment_id=deployment.pk,
        subcheck_id=sub.pk,
        done=True,
        expected_version=1,
        user=second_engineer,
    )
    after_subcheck = _item_html(client.get(url).content.decode(), item)
    add_item_note(
        deployment_id=deployment.pk,
        item_id=item.pk,
        body="Canary <b>slow</b>",
        kind="deviation",
        user=second_engineer,
    )
    from_cache = client.get(url).content.decode()
    cache.clear()
    fresh = client.get(url).content.decode()

    assert "state-done" in after_tick and "Done by" in after_tick
    assert "disabled" not in _row_head(after_tick) and "disabled" in _row_head(viewer_row)
    assert not re.search(rf'id="sub-{sub.pk}-check" checked', after_tick)
    assert re.search(rf'id="sub-{sub.pk}-check" checked', after_subcheck)
    row = _item_html(from_cache, item)
    assert "Canary &lt;b&gt;slow&lt;/b&gt;" in row
    assert row == _item_html(fresh, item)


def test_conflicting_na_gives_the_typed_reason_back_in_its_form(
    deployment, engineer, second_engineer, first_item
):
    _tick(_client(engineer), deployment, first_item, "done", 1)
    _tick(_client(engineer), deployment, first_item, "open", 2)  # open again, at version 3

    response = _tick(
        _client(second_engineer), deployment, first_item, "na", 1, reason="No <b>schema</b> change"
    )

    html = response.content.decode()
    assert response.status_code == 409
    na_form = html.split(f'id="item-{first_item.pk}-na"', 1)[1].split("</details>", 1)[0]
    assert na_form.startswith(" open>")
    assert 'name="version" value="3"' in na_form  # sending again is not a conflict
    assert "autofocus>No &lt;b&gt;schema&lt;/b&gt; change</textarea>" in na_form


def test_conflicting_na_on_an_item_now_na_shows_the_reason_not_saved(
    deployment, engineer, second_engineer, first_item
):
    _tick(_client(engineer), deployment, first_item, "na", 1, reason="Not this release")

    response = _tick(
        _client(second_engineer), deployment, first_item, "na", 1, reason="No schema change"
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Your reason, not saved: <q><bdi>No schema change</bdi></q>" in html


def test_refused_note_gives_the_typed_note_back(deployment, engineer, first_item):
    too_long = "Deviation: " + "x" * 2000

    response = _client(engineer).post(
        reverse("runs:add_note", args=[deployment.pk, first_item.pk]),
        {"body": too_long, "kind": "deviation"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 400
    note_form = html.split(f'id="item-{first_item.pk}-note"', 1)[1].split("</details>", 1)[0]
    assert note_form.startswith(" open>")
    assert f"autofocus>{too_long}</textarea>" in note_form
    assert '<option value="deviation" selected>' in note_form


def test_rows_without_a_refusal_have_empty_closed_forms(deployment, engineer, first_item):
    html = _tick(_client(engineer), deployment, first_item, "done", 1).content.decode()

    assert f'<details id="item-{first_item.pk}-note">' in html
    assert "autofocus" not in html and "Your reason" not in html


def test_every_audited_action_reads_in_words_on_the_timeline():
    """The timeline and its filter say each action in words ("overrode the gate,
    moving"), never its key ("deployment.override")."""
    package = Path(__file__).resolve().parents[2] / "deploychecks"
    written = {
        action
        for path in package.rglob("*.py")
        for action in re.findall(r'\baction="([a-z_]+\.[a-z_]+)"', path.read_text("utf-8"))
    }
    assert "deployment.override" in written  # the scan finds them
    assert sorted(written - ACTION_LABELS.keys()) == []
    assert action_label("deployment.override") == "overrode the gate, moving"


def test_a_finished_deployment_has_no_current_phase(deployment, lead):
    client = _client(lead)
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    assert 'class="badge current-badge"' in client.get(deployment.get_absolute_url()).text

    change_status(deployment_id=deployment.pk, to="aborted", user=lead)
    page = client.get(deployment.get_absolute_url()).text
    assert "Aborted" in page
    assert "current-badge" not in page and "since start" not in page
