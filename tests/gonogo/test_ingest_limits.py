"""The ingest API against hostile or runaway clients: nesting depth, body size,
batch size, a per-token rate limit in Redis, and a bound on concurrent requests."""

import asyncio
import json
import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.test import Client

from deploychecks.core import ratelimit
from deploychecks.gonogo import ingest_gate
from deploychecks.gonogo.ingest_gate import with_ingest_gate
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


# --- The door in front of Django (gonogo/ingest_gate.py) ---------------------------------


async def _call(app, path="/api/deployments/1/readings", secret="dcg_flood"):  # noqa: S107
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"authorization", f"Bearer {secret}".encode())],
    }
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def _held_app():
    """An inner app that holds each request until released."""
    release, entered = asyncio.Event(), []

    async def inner(scope, receive, send):
        entered.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return inner, release, entered


def test_past_the_concurrent_bound_an_ingest_request_gets_503_without_reaching_django(
    settings,
):
    settings.INGEST_MAX_CONCURRENT = 1

    async def scenario():
        inner, release, entered = _held_app()
        gate = with_ingest_gate(inner)
        first = asyncio.create_task(_call(gate))
        await asyncio.sleep(0.05)
        second = await _call(gate)  # waits a quarter second for the slot
        release.set()
        page = await _call(gate, path="/deployments/1/")  # people never wait here
        return await first, second, page, await _call(gate), entered

    first, second, page, third, entered = async_to_sync(scenario)()
    assert second[0] == 503 and second[1]["retry-after"] == "1"
    assert (first[0], page[0], third[0]) == (201, 201, 201)
    assert len(entered) == 3  # the refused one never reached the app behind


def test_a_token_past_its_limit_is_refused_with_429_before_django(db, settings):
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 5
    if ratelimit.window_at(time.time())[1] < 3:  # the whole test within one minute's window
        time.sleep(3)
    secret = f"dcg_{uuid.uuid4().hex}"
    ratelimit.take(ingest_gate.rate_key(secret), 5, cost=5)

    async def scenario():
        inner, release, entered = _held_app()
        release.set()
        gate = with_ingest_gate(inner)
        return await _call(gate, secret=secret), await _call(gate, secret="dcg_other"), entered

    refused, other, entered = async_to_sync(scenario)()
    assert refused[0] == 429 and 1 <= int(refused[1]["retry-after"]) <= 60
    assert refused[1]["content-type"] == "application/problem+json"
    assert other[0] == 201 and len(entered) == 1  # another token is not held back

    # For the rest of the minute this process refuses it without asking Redis.
    cache.delete(
        ratelimit.counter_key(ingest_gate.rate_key(secret), ratelimit.window_at(time.time())[0])
    )
    inner, release, entered = _held_app()
    release.set()
    again = async_to_sync(_call)(with_ingest_gate(inner), secret=secret)
    assert again[0] == 429 and entered == []


def test_the_v1_api_answers_a_deeply_nested_reading_with_400(live_deployment, engineer):
    from deploychecks.api import tokens as api_tokens

    _, secret = api_tokens.create_personal_token(user=engineer, name="ci", scopes=["tick"])
    response = Client(raise_request_exception=False).post(
        f"/api/v1/deployments/{live_deployment.pk}/readings",
        data='{"signal": "Error rate", "value": ' + "[" * 3000 + "]" * 3000 + "}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 400
    assert not Reading.objects.exists()
