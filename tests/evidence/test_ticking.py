"""An item marked "evidence required" is not ticked bare: on the page, through
the API, or by a service call; with evidence (or an API tick's evidence_url) it is."""

import pytest
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.evidence import services
from deploychecks.evidence.models import Evidence
from deploychecks.runs import hooks
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import GateClosed, set_item_state
from tests.api.conftest import personal
from tests.evidence.conftest import client_for

pytestmark = pytest.mark.django_db


def _tick(client, deployment, item, version=1):
    return client.post(
        reverse("runs:item_state", args=[deployment.pk, item.pk]),
        {"state": "done", "version": version},
        HTTP_HX_REQUEST="true",
    )


def _api(client, user):
    secret = personal(user)

    def post(path, data):
        return client.post(
            "/api/v1" + path,
            data,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )

    return post


def test_the_guard_is_registered_on_runs_hooks():
    assert any(h.__module__ == "deploychecks.evidence.hooks" for h in hooks.item_ticking.handlers)


def test_a_bare_tick_on_the_page_is_refused_with_the_reason(small, required_item, engineer):
    response = _tick(client_for(engineer), small, required_item)

    assert response.status_code == 409
    html = response.content.decode()
    reason = "“Backups verified” cannot be ticked yet: it needs evidence first."
    assert reason in html
    assert f'id="item-{required_item.pk}"' in html
    # The row comes back unticked, with its form to add evidence.
    assert "state-open" in html
    checkbox = html[html.index(f'id="item-{required_item.pk}-check"') - 80 :][:200]
    assert "checked" not in checkbox
    assert reverse("evidence:add", args=[small.pk, required_item.pk]) in html
    item = RunItem.objects.get(pk=required_item.pk)
    assert (item.state, item.version) == ("open", 1)
    assert not AuditEvent.objects.filter(action="item.ticked").exists()


def test_with_a_link_the_tick_goes_through(small, required_item, engineer):
    client = client_for(engineer)
    added = client.post(
        reverse("evidence:add", args=[small.pk, required_item.pk]),
        {"url": "https://backup.example.com/restore/9", "title": "Restore log"},
        HTTP_HX_REQUEST="true",
    )

    response = _tick(client, small, required_item)

    assert added.status_code == 200
    assert response.status_code == 200
    assert RunItem.objects.get(pk=required_item.pk).state == "done"


def test_items_not_marked_tick_without_evidence(small, plain_item, engineer):
    assert _tick(client_for(engineer), small, plain_item).status_code == 200


def test_reopening_and_na_need_no_evidence(small, required_item, engineer):
    changed = set_item_state(
        deployment_id=small.pk,
        item_id=required_item.pk,
        state="na",
        reason="No backups in this service",
        expected_version=1,
        user=engineer,
    )

    assert changed.obj.state == "na"


def test_the_service_refuses_with_the_unmet_condition(small, required_item, engineer):
    with pytest.raises(GateClosed) as refused:
        set_item_state(
            deployment_id=small.pk,
            item_id=required_item.pk,
            state="done",
            expected_version=1,
            user=engineer,
        )

    [unmet] = refused.value.unmet
    assert (unmet.key, unmet.kind, unmet.overridable) == (
        f"evidence:{required_item.pk}",
        "evidence",
        False,
    )


def test_a_bare_tick_through_the_api_is_refused_then_accepted_with_evidence(
    client, small, required_item, engineer
):
    post = _api(client, engineer)
    path = f"/deployments/{small.pk}/items/{required_item.key}"

    refused = post(f"{path}/state", {"state": "done", "expected_version": 1})
    added = post(f"{path}/evidence", {"url": "https://ci.example.com/runs/5", "title": "CI #5"})
    ticked = post(f"{path}/state", {"state": "done", "expected_version": 1})

    assert refused.status_code == 409
    body = refused.json()
    assert body["type"].endswith("gate-closed")
    assert "needs evidence first" in body["detail"]
    assert body["unmet"][0]["kind"] == "evidence"
    assert body["current"]["state"] == "open" and body["current"]["evidence_required"]
    assert added.status_code == 201, added.content
    assert added.json()["evidence"]["title"] == "CI #5"
    assert ticked.status_code == 200, ticked.content
    assert ticked.json()["item"]["evidence"][0]["url"] == "https://ci.example.com/runs/5"


def test_an_api_tick_with_evidence_url_passes_and_keeps_the_link(
    client, small, required_item, engineer
):
    post = _api(client, engineer)

    response = post(
        f"/deployments/{small.pk}/items/{required_item.key}/state",
        {
            "state": "done",
            "expected_version": 1,
            "evidence_url": "https://ci.example.com/runs/77",
            "ci": {"provider": "gitlab", "job": "backup-check"},
        },
    )

    assert response.status_code == 200, response.content
    evidence = Evidence.objects.get(item=required_item)
    assert (evidence.url, evidence.title) == ("https://ci.example.com/runs/77", "backup-check")
    assert AuditEvent.objects.filter(action="evidence.added", deployment=small).count() == 1


def test_api_evidence_refuses_other_schemes_and_outsiders(
    client, small, required_item, engineer, outsider, viewer
):
    path = f"/deployments/{small.pk}/items/{required_item.key}/evidence"

    bad = _api(client, engineer)(path, {"url": "javascript:alert(1)"})
    stranger = _api(client, outsider)(path, {"url": "https://ci.example.com/1"})
    watcher = _api(client, viewer)(path, {"url": "https://ci.example.com/1"})

    assert bad.status_code == 422
    assert stranger.status_code == 404
    assert watcher.status_code == 403
    assert not Evidence.objects.exists()


def test_the_guard_counts_evidence_added_by_anyone(small, required_item, lead, engineer):
    services.add_link(
        deployment_id=small.pk, item_id=required_item.pk, url="https://x.example/", user=lead
    )

    change = set_item_state(
        deployment_id=small.pk,
        item_id=required_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )

    assert change.changed
