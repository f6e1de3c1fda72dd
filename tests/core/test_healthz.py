"""/healthz against the real PostgreSQL and Redis, and with Redis out of reach."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_every_component_ok(client, fresh_channel_layers):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "channel_layer": "ok", "broker": "ok"},
    }


def test_it_needs_no_login_and_is_never_cached(client, fresh_channel_layers):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_it_names_the_channel_layer_when_redis_is_unreachable(client, channel_layer_down):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["down"] == ["channel_layer"]
    assert body["checks"]["channel_layer"].startswith("down: ")
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"


def test_it_names_the_broker_when_it_is_unreachable(client, broker_down, fresh_channel_layers):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["broker"]
    assert body["checks"]["broker"].startswith("down: ")
    assert body["checks"]["channel_layer"] == "ok"


def test_it_names_both_when_all_of_redis_is_gone(client, channel_layer_down, broker_down):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["channel_layer", "broker"]


def test_it_answers_get_only(client):
    assert client.post("/healthz").status_code == 405
