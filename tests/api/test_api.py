"""The API's resources, through the same services as the pages."""

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import RunItem
from tests.gates import tick_needed


def test_openapi_document_is_3_1_and_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/deployments/{deployment_id}/gate" in schema["paths"]


def test_no_token_is_a_401_problem(client, deployment):
    response = client.get(f"/api/v1/deployments/{deployment.pk}")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_session_does_not_authenticate_the_api(engineer_client, deployment):
    assert engineer_client.get(f"/api/v1/deployments/{deployment.pk}").status_code == 401


def test_get_deployment_lists_items_with_keys(engineer_api, deployment):
    response = engineer_api.get(f"/deployments/{deployment.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    keys = [i["key"] for p in body["phases"] for i in p["items"]]
    assert len(keys) == len(set(keys)) == deployment.items.count()
    assert body["status"] == "planned"
    assert body["verdict"]["level"]
    assert any(s["role"] == "QA Lead" for s in body["signoffs"])


def test_tick_by_key_records_the_token_and_ci_run(engineer_api, deployment, first_item):
    response = engineer_api.post(
        f"/deployments/{deployment.pk}/items/{first_item.key}/state",
        {
            "state": "done",
            "expected_version": first_item.version,
            "evidence_url": "https://ci.example.com/runs/1234/report",
            "ci": {
                "provider": "github-actions",
                "run_id": "1234",
                "run_url": "https://github.com/acme/checkout/actions/runs/1234",
                "commit_sha": "a1b2c3d4e5f6",
            },
        },
    )
    assert response.status_code == 200, response.content
    item = RunItem.objects.get(pk=first_item.pk)
    assert item.state == "done"
    assert item.changed_by_name == "erin"
    assert item.changed_via["token"] == "erin-token"
    assert item.changed_via["run_id"] == "1234"
    assert item.changed_via["evidence_url"].endswith("/report")
    event = AuditEvent.objects.filter(action="item.ticked", target_id=str(item.pk)).get()
    assert event.via == item.changed_via


def test_a_stale_version_is_a_409_with_the_current_item(engineer_api, deployment, first_item):
    path = f"/deployments/{deployment.pk}/items/{first_item.key}/state"
    assert engineer_api.post(path, {"state": "done", "expected_version": 1}).status_code == 200
    response = engineer_api.post(path, {"state": "open", "expected_version": 1})
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("stale-version")
    assert body["current"]["state"] == "done"
    assert body["current"]["version"] == 2


def test_gate_lists_the_unmet_conditions_as_the_page(engineer_api, deployment):
    response = engineer_api.get(f"/deployments/{deployment.pk}/gate", {"for": "go-live"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "closed"
    assert {c["kind"] for c in body["unmet"]} >= {"items"}
    assert body["message"].startswith("This deployment cannot be taken live yet")


def test_gate_opens_when_the_items_are_done(engineer_api, deployment):
    tick_needed(deployment, "monitoring")
    body = engineer_api.get(f"/deployments/{deployment.pk}/gate", {"for": "go-live"}).json()
    assert body["status"] == "open", body
    assert body["unmet"] == []


def test_going_live_through_a_closed_gate_is_a_409_listing_it(engineer_api, deployment):
    path = f"/deployments/{deployment.pk}/status"
    assert engineer_api.post(path, {"to": "in_progress"}).status_code == 200
    response = engineer_api.post(path, {"to": "monitoring"})
    assert response.status_code == 409
    body = response.json()
    assert body["type"].endswith("gate-closed")
    assert body["unmet"] and body["current"]["status"] == "in_progress"


def test_audit_timeline_is_paginated(engineer_api, deployment, first_item):
    path = f"/deployments/{deployment.pk}/items/{first_item.key}/state"
    engineer_api.post(path, {"state": "done", "expected_version": 1})
    body = engineer_api.get(f"/deployments/{deployment.pk}/audit", {"per_page": 1}).json()
    assert body["count"] >= 2 and body["pages"] == body["count"]
    assert body["results"][0]["action"] == "item.ticked"
    assert body["results"][0]["via"]["token"] == "erin-token"
