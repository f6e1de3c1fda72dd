"""/healthz against the real PostgreSQL and Redis, and with Redis out of reach."""

import time

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_every_component_ok(client, fresh_channel_layers):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "channel_layer": "ok", "broker": "ok"},
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
    assert body["checks"]["database"] == body["checks"]["broker"] == body["checks"]["cache"] == "ok"


def test_it_names_the_broker_when_it_is_unreachable(client, broker_down, fresh_channel_layers):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["broker"]
    assert body["checks"]["broker"].startswith("down: ")
    assert body["checks"]["channel_layer"] == "ok"


def test_it_names_the_cache_when_its_redis_is_unreachable(client, cache_down):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["cache"]
    assert body["checks"]["cache"].startswith("down: ")
    assert body["checks"]["database"] == body["checks"]["channel_layer"] == "ok"


def test_it_names_all_three_uses_when_all_of_redis_is_gone(
    client, cache_down, channel_layer_down, broker_down
):
    start = time.perf_counter()
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["down"] == ["cache", "channel_layer", "broker"]
    # Checked at once, each with a short timeout.
    assert time.perf_counter() - start < 2.5


def test_it_answers_get_only(client):
    assert client.post("/healthz").status_code == 405
