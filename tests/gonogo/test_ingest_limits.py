"""The ingest API against hostile or runaway clients: nesting depth, body size,
batch size, a per-token rate limit in Redis, and a bound on concurrent requests."""

import json

import pytest
import redis
from django.test import Client

from deploychecks.gonogo import views
from deploychecks.gonogo.models import Reading
from deploychecks.gonogo.tokens import create_ingest_token


@pytest.fixture
def token(live_deployment, lead):
    _, secret = create_ingest_token(deployment_id=live_deployment.pk, name="Prometheus", user=lead)
    return secret


def _post(deployment, raw, secret, *, batch=False):
    path = f"/api/deployments/{deployment.pk}/readings" + ("/batch" if batch else "")
    return Client(raise_request_exception=False).post(
        path, data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


def _reading(value=0.1, **extra):
    return {"signal": "Error rate", "value": value, **extra}


def _batch(n, value=0.1):
    return json.dumps({"readings": [_reading(value) for _ in range(n)]})


# --- Depth and size ------------------------------------------------------------------


def test_a_body_of_arrays_nested_3000_deep_is_refused_with_400(live_deployment, token):
    body = "[" * 3000 + "]" * 3000  # 6 KB: within the size limit
    response = _post(live_deployment, body, token)
    assert response.status_code == 400, response.content
    assert "20 levels deep" in response.json()["detail"]
    nested_value = '{"signal": "Error rate", "value": ' + "[" * 3000 + "]" * 3000 + "}"
    assert _post(live_deployment, nested_value, token).status_code == 400
    assert _post(live_deployment, body, token, batch=True).status_code == 400
    assert not Reading.objects.exists()


def test_brackets_inside_strings_do_not_count_as_nesting(live_deployment, token):
    note = "[" * 100 + "{" * 100
    response = _post(live_deployment, json.dumps(_reading(note=note[:400])), token)
    assert response.status_code == 201, response.content


def test_bodies_too_large_are_refused_with_413(live_deployment, token):
    single = json.dumps(_reading(note="x" * 20_000))
    response = _post(live_deployment, single, token)
    assert response.status_code == 413 and "16384 bytes" in response.json()["detail"]
    huge = json.dumps({"readings": [_reading(note="x" * 480)] * 2500})  # > 1 MiB
    response = _post(live_deployment, huge, token, batch=True)
    assert response.status_code == 413 and "1048576 bytes" in response.json()["detail"]
    assert not Reading.objects.exists()


# --- Batches ---------------------------------------------------------------------------


def test_a_batch_of_500_readings_is_stored_in_one_request(live_deployment, token):
    response = _post(live_deployment, _batch(500), token, batch=True)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 500 and len(body["readings"]) == 500
    assert body["readings"][0]["grade"] == "green"
    assert Reading.objects.filter(source="ingest").count() == 500


def test_a_batch_of_501_readings_is_refused_with_413_and_nothing_is_stored(live_deployment, token):
    response = _post(live_deployment, _batch(501), token, batch=True)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "at most 500 readings" in detail and "501" in detail
    assert not Reading.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"readings": []}, 400, "at least one reading"),
        ({"readings": {}}, 400, "at least one reading"),
        ({"rows": [_reading()]}, 400, '{"readings"'),
        ({"readings": [_reading(), _reading(), {"value": 1}]}, 400, "readings[2]: “signal”"),
        ({"readings": [_reading(), _reading("lots")]}, 422, "readings[1]: The value"),
        ({"readings": [_reading(), {"signal": "CPU", "value": 1}]}, 422, "readings[1]: Unknown"),
    ],
)
def test_a_batch_with_one_bad_reading_stores_none_and_names_it(
    live_deployment, token, body, status, message
):
    response = _post(live_deployment, json.dumps(body), token, batch=True)
    assert response.status_code == status, response.content
    assert message in response.json()["detail"]
    assert not Reading.objects.exists()


def test_a_batch_that_turns_a_signal_red_is_audited_once(live_deployment, token):
    from deploychecks.audit.models import AuditEvent

    _post(live_deployment, json.dumps(_reading(0.1)), token)  # green
    body = {"readings": [_reading(0.2), _reading(3.0), _reading(0.3), _reading(4.0)]}
    response = _post(live_deployment, json.dumps(body), token, batch=True)
    assert response.status_code == 201
    assert {r["grade"] for r in response.json()["readings"]} == {"red"}
    changes = AuditEvent.objects.filter(action="signal.grade_changed").order_by("id")
    assert [(e.before, e.after) for e in changes][-1] == (
        {"grade": "green"},
        {"grade": "red", "value": 4.0},
    )


# --- Rate limit ------------------------------------------------------------------------


def test_a_token_past_its_rate_limit_gets_429_with_retry_after(live_deployment, token, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 3
    answers = [_post(live_deployment, json.dumps(_reading()), token) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    refused = answers[3]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Limit"] == "3" and refused["RateLimit-Remaining"] == "0"
    assert "3 readings a minute" in refused.json()["detail"]
    assert answers[0]["RateLimit-Remaining"] == "2"
    assert Reading.objects.count() == 3


def test_a_batch_counts_each_of_its_readings_and_a_refused_one_gives_them_back(
    live_deployment, token, settings
):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 10
    assert _post(live_deployment, _batch(8), token, batch=True).status_code == 201
    refused = _post(live_deployment, _batch(5), token, batch=True)
    assert refused.status_code == 429 and "2 are left" in refused.json()["detail"]
    assert _post(live_deployment, _batch(2), token, batch=True).status_code == 201
    assert _post(live_deployment, json.dumps(_reading()), token).status_code == 429
    assert Reading.objects.count() == 10


def test_the_rate_limit_count_lives_in_redis_for_every_process(live_deployment, token, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 100
    assert _post(live_deployment, _batch(7), token, batch=True).status_code == 201
    # Another process sees the same counter: read it straight from Redis.
    raw = redis.Redis.from_url(settings.REDIS_URL)
    counters = list(raw.scan_iter("*rate:ingest:*"))
    values = {int(raw.get(k)) for k in counters}
    assert 7 in values
    raw.close()


def test_each_token_has_its_own_allowance(live_deployment, token, lead, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 1
    _, other = create_ingest_token(deployment_id=live_deployment.pk, name="Datadog", user=lead)
    assert _post(live_deployment, json.dumps(_reading()), token).status_code == 201
    assert _post(live_deployment, json.dumps(_reading()), token).status_code == 429
    assert _post(live_deployment, json.dumps(_reading()), other).status_code == 201


# --- Concurrency bound -----------------------------------------------------------------


def test_past_the_concurrent_ingest_bound_a_request_gets_503_with_retry_after(
    live_deployment, token, settings
):
    settings.INGEST_MAX_CONCURRENT = 1
    with views._ingest_slots.slot() as admitted:  # another request holds the only slot
        assert admitted
        response = _post(live_deployment, json.dumps(_reading()), token)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert _post(live_deployment, json.dumps(_reading()), token).status_code == 201
    assert Reading.objects.count() == 1
