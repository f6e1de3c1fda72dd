"""CSRF on every state-changing request (htmx included); no GET changes state."""

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.runs.models import Deployment
from tests.security.conftest import client_for
from tests.security.test_permission_matrix import (
    DEPLOYMENT_MATRIX,
    WRONG_METHOD,
    request,
    url_for,
)
from tests.security.urls import project_routes

pytestmark = pytest.mark.django_db


# Accepts POSTs without a CSRF token, and why that is right.
CSRF_EXEMPT = {
    "gonogo:ingest": "a machine API authenticated by a bearer token, never by cookies",
    "gonogo:ingest_batch": "a machine API authenticated by a bearer token, never by cookies",
}


def _state_changing_routes():
    """The deployment URLs that accept a POST."""
    return [
        r
        for r in project_routes()
        if r.name in DEPLOYMENT_MATRIX
        and DEPLOYMENT_MATRIX[r.name].get("POST", WRONG_METHOD) is not WRONG_METHOD
        and r.name not in CSRF_EXEMPT
    ]


def _post_only_routes():
    """The deployment URLs that change state and have no page: GET is the wrong method."""
    return [
        r
        for r in project_routes()
        if r.name in DEPLOYMENT_MATRIX and DEPLOYMENT_MATRIX[r.name].get("GET") is WRONG_METHOD
    ]


def _post_data(route, ids):
    entry = DEPLOYMENT_MATRIX[route.name]
    return entry["data"](ids) if "data" in entry else {}


def test_there_are_state_changing_urls_to_check():
    names = {r.name for r in _state_changing_routes()}

    assert {"runs:item_state", "runs:status", "runs:save_contacts"} <= names
    assert {r.name for r in _post_only_routes()} <= names


def test_every_state_changing_post_without_a_csrf_token_is_refused(lead, ids):
    client = client_for(lead, enforce_csrf_checks=True)
    seq = Deployment.objects.get(pk=ids.pk).seq
    accepted = []
    for route in _state_changing_routes():
        response = request(client, "POST", url_for(route, ids), _post_data(route, ids))
        if response.status_code != 403:
            accepted.append(f"{route.name}: {response.status_code}")

    assert not accepted, "POST without a CSRF token was not refused:\n" + "\n".join(accepted)
    assert Deployment.objects.get(pk=ids.pk).seq == seq  # nothing changed


def test_htmx_posts_with_the_token_header_are_accepted(lead, ids):
    client = client_for(lead, enforce_csrf_checks=True)
    page = client.get(reverse("runs:detail", args=[ids.pk]))
    token = page.context["csrf_token"]

    response = client.post(
        reverse("runs:item_state", args=[ids.pk, ids.item_id]),
        {"state": "done", "version": 1},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=str(token),
    )

    assert response.status_code == 200


def test_a_get_never_changes_state(lead, ids):
    client = client_for(lead)
    before = Deployment.objects.get(pk=ids.pk).seq
    wrong = []
    for route in _post_only_routes():
        response = client.get(url_for(route, ids), _post_data(route, ids))
        if response.status_code != 405:
            wrong.append(f"{route.name}: {response.status_code}")

    assert not wrong, "GET to a POST-only URL was not 405:\n" + "\n".join(wrong)
    assert Deployment.objects.get(pk=ids.pk).seq == before


@pytest.mark.parametrize("name", ["login", "logout", "password_change", "password_reset"])
def test_account_forms_need_a_csrf_token(name, engineer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)

    assert client.post(reverse(name), {}).status_code == 403


def test_creating_deployments_and_templates_needs_a_csrf_token(admin_user, revision):
    client = client_for(admin_user, enforce_csrf_checks=True)
    urls = [
        reverse("runs:create"),
        reverse("checklists:import"),
        reverse("checklists:edit", args=[revision.template_id]),
    ]

    statuses = [
        client.post(
            url, {"markdown_text": "# T", "action": "save"}, HTTP_HX_REQUEST="true"
        ).status_code
        for url in urls
    ]

    assert statuses == [403, 403, 403]
