"""A pipeline sets owners and due times by item key when it starts a deployment."""

import pytest

from deploychecks.runs.models import Deployment
from tests.api.conftest import Api, personal
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_api(client, lead):
    may_start_deployments(lead)
    return Api(client, personal(lead))


def _start(api, items):
    return api.post(
        "/deployments",
        {"template": "Owned release", "service": "owned-api", "version": "2.0", "items": items},
    )


def test_owners_and_due_times_are_set_by_item_key(lead_api, owned_revision):
    answer = _start(
        lead_api,
        {
            "backups-verified": {"owners": ["sam", "DevOps Lead"], "due": "45m after go-live"},
            "canary-healthy": {"owners": []},
            "dashboards-green": {"due": ""},
        },
    )

    assert answer.status_code == 201, answer.content
    items = {i["key"]: i for p in answer.json()["phases"] for i in p["items"]}
    assert items["backups-verified"]["owners"] == ["sam", "devops-lead"]
    assert items["backups-verified"]["due"] == "45m after go-live"
    assert items["canary-healthy"]["owners"] == []
    assert items["canary-healthy"]["due"] == "30m after window start"  # left as the template's
    assert items["dashboards-green"] == items["dashboards-green"] | {
        "owners": ["lead"],
        "due": "",
        "overdue_since": None,
    }
    assert items["migrations-reviewed"]["owners"] == ["backend-lead"]


def test_an_unknown_key_refuses_the_whole_deployment(lead_api, owned_revision):
    answer = _start(lead_api, {"no-such-item": {"owners": ["sam"]}})

    assert answer.status_code == 400
    assert "no-such-item" in answer.json()["detail"]
    assert not Deployment.objects.filter(service="owned-api").exists()


@pytest.mark.parametrize(
    "wanted", [{"owners": ["no/pe"]}, {"due": "soon"}, {"owners": ["a"], "extra": 1}]
)
def test_a_bad_assignment_is_refused_with_its_reason(lead_api, owned_revision, wanted):
    answer = _start(lead_api, {"backups-verified": wanted})

    assert answer.status_code in (400, 422)
    assert answer.json()["detail"]
    assert not Deployment.objects.filter(service="owned-api").exists()


def test_the_template_lists_owners_and_due_times(lead_api, owned_revision):
    body = lead_api.get(f"/templates/{owned_revision.template_id}").json()

    items = {i["key"]: i for p in body["phases"] for i in p["items"]}
    assert items["backups-verified"]["owners"] == ["erin"]
    assert items["backups-verified"]["due"] == "2h after window start"


def test_a_planned_start_with_an_offset_postgresql_refuses_is_stored_in_utc(
    lead_api, owned_revision
):
    # Found by schemathesis: "-18:13" is ISO 8601 but beyond PostgreSQL's ±15:59.
    answer = lead_api.post(
        "/deployments",
        {
            "template": "Owned release",
            "service": "owned-api",
            "version": "2.0",
            "planned_start": "2026-07-29T04:38:51-18:13",
        },
    )

    assert answer.status_code == 201, answer.content
    deployment = Deployment.objects.get(service="owned-api")
    assert deployment.planned_start.isoformat() == "2026-07-29T22:51:51+00:00"
