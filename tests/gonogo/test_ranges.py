"""A reading outside what its signal can measure is refused, by every way in:
the run page's reading form, the ingest API and the REST API (issue 12 §4)."""

import json

import pytest
from django.test import Client

from deploychecks.gonogo.models import Reading
from deploychecks.gonogo.ranges import ValidRange, valid_range
from deploychecks.gonogo.services import SignalError, record_reading
from deploychecks.gonogo.tokens import create_ingest_token
from tests.api.conftest import personal


@pytest.mark.parametrize(
    ("kind", "unit", "expected"),
    [
        ("number", "%", ValidRange(0.0, 100.0)),
        ("number", " Percent ", ValidRange(0.0, 100.0)),
        ("number", "ms", ValidRange(0.0, None)),
        ("number", "MB", ValidRange(0.0, None)),
        ("number", "of 20", ValidRange(0.0, 20.0)),
        ("number", "°C", ValidRange()),
        ("number", "", ValidRange()),
        ("boolean", "yes/no", ValidRange(0.0, 1.0)),
    ],
)
def test_the_valid_range_comes_from_the_signals_kind_and_unit(kind, unit, expected):
    assert valid_range(kind, unit) == expected


def test_a_range_says_which_side_a_value_falls_off():
    percent = ValidRange(0.0, 100.0)

    assert [percent.refusal(v) for v in (-0.1, 0.0, 100.0, 100.5)] == [
        "cannot be below 0",
        "",
        "",
        "cannot be above 100",
    ]
    assert ValidRange().refusal(-1e9) == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("signal", "value", "message"),
    [
        ("p95 latency", -5, "“p95 latency” (in ms) cannot be below 0"),
        ("Error rate", 101, "“Error rate” (in %) cannot be above 100"),
        ("Error rate", -0.5, "cannot be below 0"),
        ("Database connections", 21, "cannot be above 20"),
    ],
)
def test_a_reading_outside_its_signals_range_is_refused(
    live_deployment, engineer, signal, value, message
):
    with pytest.raises(SignalError) as refused:
        record_reading(
            deployment_id=live_deployment.pk, signal_name=signal, value=value, user=engineer
        )

    assert message in refused.value.message
    assert not Reading.objects.exists()
    assert live_deployment.signals.get(name=signal).grade == ""


@pytest.mark.django_db
def test_the_ends_of_a_range_are_readings_like_any_other(live_deployment, engineer):
    for signal, value in (("p95 latency", 0), ("Error rate", 100), ("Database connections", 20)):
        record_reading(
            deployment_id=live_deployment.pk, signal_name=signal, value=value, user=engineer
        )

    assert Reading.objects.count() == 3


@pytest.mark.django_db
def test_the_reading_form_shows_the_refusal_and_leaves_the_typed_value(live_deployment, engineer):
    client = Client()
    client.force_login(engineer)

    response = client.post(
        f"/deployments/{live_deployment.pk}/readings/",
        {"signal": "p95 latency", "value": "-5", "note": "from the dashboard"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "cannot be below 0" in html
    # The panel carries the message; the form is not sent back, so what was typed stays.
    assert 'role="alert"' in html and 'id="reading-form"' not in html
    assert not Reading.objects.exists()


@pytest.mark.django_db
def test_the_ingest_api_refuses_a_reading_outside_the_range(live_deployment, lead):
    _, secret = create_ingest_token(deployment_id=live_deployment.pk, name="Prometheus", user=lead)

    response = Client().post(
        f"/api/deployments/{live_deployment.pk}/readings",
        data=json.dumps({"signal": "p95 latency", "value": -5}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )

    assert response.status_code == 422
    assert "cannot be below 0" in response.json()["error"]
    assert not Reading.objects.exists()


@pytest.mark.django_db
def test_the_rest_api_refuses_a_reading_outside_the_range(client, live_deployment, engineer):
    secret = personal(engineer)

    response = client.post(
        f"/api/v1/deployments/{live_deployment.pk}/readings",
        {"signal": "p95 latency", "value": -5},
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert response.status_code == 400, response.content
    assert "cannot be below 0" in response.json()["detail"]
    assert not Reading.objects.exists()
