"""The ingest API: bearer tokens, revocation, and every kind of bad input (nothing stored)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.gonogo.models import IngestToken, Reading
from deploychecks.gonogo.tokens import create_ingest_token, revoke_ingest_token
from deploychecks.runs.services import NotAllowed


@pytest.fixture
def token(live_deployment, lead):
    _, secret = create_ingest_token(deployment_id=live_deployment.pk, name="Prometheus", user=lead)
    return secret


def _post(deployment, body, *, secret=None, content_type="application/json", raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    data = raw if raw is not None else json.dumps(body)
    return Client(enforce_csrf_checks=True).post(
        f"/api/deployments/{deployment.pk}/readings",
        data=data,
        content_type=content_type,
        **headers,
    )


def test_it_stores_a_reading_with_a_valid_token(live_deployment, token):
    response = _post(live_deployment, {"signal": "error rate", "value": 0.3}, secret=token)
    assert response.status_code == 201, response.content
    assert response.json()["grade"] == "green" and response.json()["signal"] == "Error rate"
    reading = Reading.objects.get()
    assert reading.source == "ingest" and reading.recorded_by_name == "token Prometheus"
    assert IngestToken.objects.get().last_used_at is not None


def test_it_takes_an_observation_time_and_a_small_clock_skew(live_deployment, token):
    past = (timezone.now() - timedelta(minutes=3)).isoformat()
    skewed = (timezone.now() + timedelta(seconds=30)).isoformat()
    assert (
        _post(
            live_deployment,
            {"signal": "p95 latency", "value": 700, "observed_at": past},
            secret=token,
        ).status_code
        == 201
    )
    assert (
        _post(
            live_deployment,
            {"signal": "p95 latency", "value": 710, "observed_at": skewed},
            secret=token,
        ).status_code
        == 201
    )
    assert Reading.objects.count() == 2
    assert max(Reading.objects.values_list("observed_at", flat=True)) <= timezone.now()


def test_only_the_hash_of_a_token_is_stored_and_it_is_shown_once(live_deployment, lead):
    token, secret = create_ingest_token(deployment_id=live_deployment.pk, name="Datadog", user=lead)
    assert secret.startswith("dcg_") and len(secret) > 40
    assert secret not in {token.token_hash, token.prefix}
    assert len(token.token_hash) == 64
    page = Client()
    page.force_login(lead)
    listing = page.get(f"/deployments/{live_deployment.pk}/ingest-tokens/").content.decode()
    assert "Datadog" in listing and secret not in listing


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwdw=="},
        {"HTTP_AUTHORIZATION": "Bearer dcg_wrong-token"},
    ],
)
def test_missing_or_wrong_tokens_are_refused(live_deployment, token, headers):
    response = Client().post(
        f"/api/deployments/{live_deployment.pk}/readings",
        data=json.dumps({"signal": "Error rate", "value": 1}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 401
    assert "token" in response.json()["error"].lower()
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Reading.objects.exists()


def test_a_revoked_token_stops_working(live_deployment, lead, token):
    assert (
        _post(live_deployment, {"signal": "Error rate", "value": 0.1}, secret=token).status_code
        == 201
    )
    revoke_ingest_token(
        deployment_id=live_deployment.pk, token_id=IngestToken.objects.get().pk, user=lead
    )
    response = _post(live_deployment, {"signal": "Error rate", "value": 0.2}, secret=token)
    assert response.status_code == 401 and "revoked" in response.json()["error"]
    assert Reading.objects.count() == 1


def test_a_token_only_works_for_its_own_deployment(live_deployment, token, revision, lead):
    from deploychecks.runs.services import create_deployment

    other = create_deployment(
        revision, user=lead, release_name="Other", version="1", service="billing", lead=lead
    )
    assert _post(other, {"signal": "Error rate", "value": 1}, secret=token).status_code == 401
    assert not Reading.objects.exists()


def test_only_the_lead_creates_and_revokes_tokens(live_deployment, engineer, lead):
    with pytest.raises(NotAllowed):
        create_ingest_token(deployment_id=live_deployment.pk, name="x", user=engineer)
    token, _ = create_ingest_token(deployment_id=live_deployment.pk, name="x", user=lead)
    with pytest.raises(NotAllowed):
        revoke_ingest_token(deployment_id=live_deployment.pk, token_id=token.pk, user=engineer)
    client = Client()
    client.force_login(engineer)
    assert client.get(f"/deployments/{live_deployment.pk}/ingest-tokens/").status_code == 404


BAD_BODIES = [
    ({"signal": "Error rate", "value": "abc"}, 422, "must be a number"),
    ({"signal": "Error rate", "value": "1.5"}, 201, None),  # numeric text is a number
    ({"signal": "Error rate", "value": True}, 422, "not true/false"),
    ({"signal": "Error rate", "value": None}, 422, "must be a number"),
    ({"signal": "Error rate", "value": [1]}, 422, "must be a number"),
    ({"signal": "Error rate", "value": "NaN"}, 422, "finite"),
    ({"signal": "Error rate", "value": 1e400}, 422, "finite"),
    ({"signal": "Error rate", "value": 10**400}, 422, "finite"),  # float() overflowed: 500
    ({"signal": "Error rate"}, 400, "“value” is missing"),
    ({"value": 1}, 400, "“signal” must be"),
    ({"signal": "CPU", "value": 1}, 422, "Unknown signal 'CPU'"),
    ({"signal": "Data corruption", "value": 0.5}, 422, "yes or no"),
    ({"signal": "Data corruption", "value": "maybe"}, 422, "“Data corruption” is yes or no"),
    ({"signal": "Data corruption", "value": "Yes"}, 201, None),
    ({"signal": "Error rate", "value": 1, "observed_at": "yesterday"}, 400, "ISO 8601"),
    ({"signal": "Error rate", "value": 1, "observed_at": "2025-05-01T12:00:00"}, 422, "time zone"),
    ({"signal": "Error rate", "value": 1, "colour": "red"}, 400, "Unknown fields: colour"),
    ({"signal": "Error rate", "value": 1, "note": 5}, 400, "“note” must be text"),
    (["Error rate", 1], 400, "JSON object"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_readings_are_refused_and_nothing_is_stored(
    live_deployment, token, body, status, message
):
    response = _post(live_deployment, body, secret=token)
    assert response.status_code == status, response.content
    if message:
        assert message in response.json()["error"]
        assert not Reading.objects.exists()


def test_a_timestamp_in_the_future_is_refused(live_deployment, token):
    future = (timezone.now() + timedelta(minutes=5)).isoformat()
    response = _post(
        live_deployment, {"signal": "Error rate", "value": 1, "observed_at": future}, secret=token
    )
    assert response.status_code == 422 and "in the future" in response.json()["error"]
    assert not Reading.objects.exists()


def test_malformed_oversized_and_wrongly_typed_bodies_are_refused(live_deployment, token):
    assert _post(live_deployment, None, secret=token, raw="{not json").status_code == 400
    assert _post(live_deployment, None, secret=token, raw=b"\xff\xfe").status_code == 400
    big = json.dumps({"signal": "Error rate", "value": 1, "note": "x" * 20_000})
    response = _post(live_deployment, None, secret=token, raw=big)
    assert response.status_code == 413 and "16384 bytes" in response.json()["error"]
    form = _post(
        live_deployment,
        None,
        secret=token,
        raw="signal=Error+rate&value=1",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 415 and "application/json" in form.json()["error"]
    assert Client().get(f"/api/deployments/{live_deployment.pk}/readings").status_code == 405
    assert not Reading.objects.exists()


def test_a_finished_deployment_takes_no_readings(live_deployment, token, lead):
    from deploychecks.runs.services import change_status

    change_status(deployment_id=live_deployment.pk, to="aborted", user=lead)
    response = _post(live_deployment, {"signal": "Error rate", "value": 1}, secret=token)
    assert response.status_code == 409 and "aborted" in response.json()["error"]
    assert not Reading.objects.exists()
