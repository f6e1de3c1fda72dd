"""Fixtures for the status update tests (deployment and people: tests/conftest.py)."""

import pytest
from django.test import Client


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """Broadcasts after commit use Redis keys no other test run shares."""


@pytest.fixture
def client_of():
    def make(user, **kwargs):
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


def post_update(client, deployment, body, *, rag="", public=False, htmx=True):
    data = {"body": body, "rag": rag}
    if public:
        data["public"] = "1"
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/deployments/{deployment.pk}/status-updates/", data, headers=headers)
