"""API test helpers: tokens for the conftest people, and a client that sends them."""

import pytest

from deploychecks.api import tokens
from tests.conftest import may_start_deployments

ALL_SCOPES = ["read", "tick", "transition", "import"]


def personal(user, scopes=ALL_SCOPES, **extra) -> str:
    """A personal token's secret for `user`."""
    return tokens.create_personal_token(user=user, name=f"{user.username}-token", scopes=scopes)[1]


def service(admin, services=("checkout-api",), scopes=ALL_SCOPES, environments=()) -> tuple:
    """(token, secret) of a service token an admin made."""
    return tokens.create_service_token(
        user=admin,
        name="ci-" + "-".join(services),
        scopes=scopes,
        services=services,
        environments=environments,
    )


class Api:
    """Django's test client with a bearer token, JSON in and out."""

    def __init__(self, client, secret: str):
        self.client, self.secret = client, secret

    def _headers(self, extra):
        return {"Authorization": f"Bearer {self.secret}", **extra}

    def get(self, path, params=None, **headers):
        return self.client.get("/api/v1" + path, params or {}, headers=self._headers(headers))

    def post(self, path, data=None, **headers):
        return self.client.post(
            "/api/v1" + path,
            data or {},
            content_type="application/json",
            headers=self._headers(headers),
        )


@pytest.fixture
def api_as(client):
    def make(user, scopes=ALL_SCOPES):
        return Api(client, personal(user, scopes))

    return make


@pytest.fixture
def lead_api(api_as, lead):
    may_start_deployments(lead)
    return api_as(lead)


@pytest.fixture
def engineer_api(api_as, engineer):
    return api_as(engineer)
