"""The API's note creation: reply_to, and a 422 problem for a refused mention."""

import pytest

from deploychecks.mentions.models import Mention
from deploychecks.runs.models import ItemNote
from deploychecks.runs.services import add_item_note
from tests.api.conftest import Api, personal

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer_api(client, engineer):
    return Api(client, personal(engineer))


def _notes(deployment, item):
    return f"/deployments/{deployment.pk}/items/{item.key}/notes"


def test_api_adds_a_reply_and_tells_the_mentioned(
    engineer_api, deployment, engineer, viewer, first_item
):
    parent = add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="Canary?", user=engineer
    ).obj

    response = engineer_api.post(
        _notes(deployment, first_item), {"body": "Green, @vic", "reply_to": parent.pk}
    )

    assert response.status_code == 201, response.content
    note = response.json()["note"]
    assert note["reply_to"] == parent.pk and note["deleted"] is False
    assert ItemNote.objects.get(pk=note["id"]).reply_to_id == parent.pk
    assert Mention.objects.filter(note_id=note["id"], user=viewer).count() == 1


def test_api_refuses_a_reply_to_a_note_of_another_item(
    engineer_api, deployment, engineer, first_item
):
    other = deployment.items.exclude(pk=first_item.pk).order_by("pk").first()
    parent = add_item_note(
        deployment_id=deployment.pk, item_id=other.pk, body="Elsewhere", user=engineer
    ).obj

    response = engineer_api.post(
        _notes(deployment, first_item), {"body": "Here", "reply_to": parent.pk}
    )

    assert response.status_code == 400
    assert "not on this item" in response.json()["detail"]


def test_api_refuses_a_mention_of_a_non_participant_with_422(
    engineer_api, deployment, outsider, first_item
):
    response = engineer_api.post(_notes(deployment, first_item), {"body": "cc @otto @ghost"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:deploychecks:problem:mention-refused"
    assert problem["refused"] == ["otto", "ghost"]
    assert "@otto, @ghost are not among them" in problem["detail"]
    assert not ItemNote.objects.filter(item=first_item).exists()


def test_the_refusal_is_documented(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/deployments/{deployment_id}/items/{item}/notes"]["post"]

    assert "422" in operation["responses"]
    assert "mention-refused" in operation["description"]
