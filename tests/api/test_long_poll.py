"""`GET …/gate?wait=N` against the live server: it waits without a thread and
answers as soon as the gate opens."""

import concurrent.futures
import time

import httpx
import pytest

from deploychecks.runs.services import create_deployment, set_item_state
from tests.api.conftest import personal
from tests.api.live import BEFORE_KEYS, small_template
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.usefixtures("purge_audit_events")


@pytest.fixture
def started(transactional_db, lead, engineer):
    may_start_deployments(lead)
    deployment = create_deployment(
        small_template(),
        user=lead,
        release_name="Shop 1.2",
        version="1.2.0",
        service="shop",
        lead=lead,
        engineers=[engineer],
    )
    return deployment


def _wait(url, secret, deployment, seconds):
    started = time.monotonic()
    response = httpx.get(
        f"{url}/api/v1/deployments/{deployment.pk}/gate",
        params={"for": "go-live", "wait": seconds},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=seconds + 10,
    )
    return response, time.monotonic() - started, time.monotonic()


def _tick(deployment, key, user):
    item = deployment.items.get(key=key)
    set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state="done",
        expected_version=item.version,
        user=user,
    )


def test_waiters_are_answered_within_a_second_of_the_gate_opening(
    live_server_url, started, engineer
):
    secret = personal(engineer, ["read"])
    for key in BEFORE_KEYS[:-1]:
        _tick(started, key, engineer)
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        waiting = [pool.submit(_wait, live_server_url, secret, started, 30) for _ in range(5)]
        time.sleep(2)
        assert not any(f.done() for f in waiting), "answered while the gate was closed"
        _tick(started, BEFORE_KEYS[-1], engineer)
        opened = time.monotonic()
        results = [f.result() for f in waiting]
    for response, took, answered in results:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "open"
        assert took >= 2
        assert answered - opened < 1.0


def test_a_waiter_gets_the_unmet_conditions_when_its_time_is_up(live_server_url, started, engineer):
    response, took, _ = _wait(live_server_url, personal(engineer, ["read"]), started, 1)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "closed" and 1 <= took < 3
    assert [c["label"] for c in body["unmet"]] == [
        "All tests passing",
        "Security scan clean",
        "Database backup taken",
        "Change approved in the change calendar",
    ]


def test_an_open_gate_answers_at_once(live_server_url, started, engineer):
    for key in BEFORE_KEYS:
        _tick(started, key, engineer)
    response, took, _ = _wait(live_server_url, personal(engineer, ["read"]), started, 30)
    assert response.json()["status"] == "open" and took < 2


def test_the_long_poll_checks_the_token_like_the_api(live_server_url, started, outsider):
    response, *_ = _wait(live_server_url, "dct_not-a-token", started, 30)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    response, *_ = _wait(live_server_url, personal(outsider, ["read"]), started, 30)
    assert response.status_code == 404
    response, *_ = _wait(live_server_url, personal(outsider, ["tick"]), started, 30)
    assert response.status_code in (403, 404)
