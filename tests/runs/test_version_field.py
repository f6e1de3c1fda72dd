"""A deployment's version is a version (2.0.0, v3.1.0-rc.1, a commit), never markup."""

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.core.errors import RunError
from deploychecks.runs.services import create_deployment
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db

NOT_VERSIONS = ["<b>2.0</b>", "2.0 beta", "-1", "../2", "x" * 61, "2.0\u202e"]


def _post(lead, revision, **fields):
    client = Client()
    client.force_login(may_start_deployments(lead))
    data = {
        "revision": revision.pk,
        "release_name": "Autumn",
        "version": "2.1.0",
        "service": "billing",
        "environment": "production",
    }
    return client.post(reverse("runs:create"), {**data, **fields})


@pytest.mark.parametrize("version", NOT_VERSIONS)
def test_the_form_refuses_what_is_not_a_version_and_says_why(revision, lead, version):
    response = _post(lead, revision, version=version)

    assert response.status_code == 422
    assert "Enter a version such as 2.0.0" in response.content.decode()
    assert not lead.led_deployments.exists()


def test_the_previous_version_is_checked_too(revision, lead):
    response = _post(lead, revision, previous_version="<i>1</i>")

    assert response.status_code == 422
    assert "Enter a version such as 2.0.0" in response.content.decode()


@pytest.mark.parametrize(
    "version", ["2.1.0", "v3.1.0-rc.1", "1.0.0+build.5", "2026.12_05", "9f3c2ab"]
)
def test_the_form_accepts_versions(revision, lead, version):
    assert _post(lead, revision, version=version).status_code == 302
    assert lead.led_deployments.get().version == version


def test_the_service_refuses_markup_whoever_calls_it(revision, lead):
    # The REST API and the CLI reach the same function as the form.
    with pytest.raises(RunError, match="Enter a version such as 2.0.0"):
        create_deployment(
            revision, user=lead, release_name="R", version="<img src=x>", service="s", lead=lead
        )
    assert not lead.led_deployments.exists()


def test_an_odd_revision_id_is_answered_not_a_server_error(revision, lead):
    # "²".isdigit() is True but int("²") raises: a 500 before.
    client = Client()
    client.force_login(may_start_deployments(lead))
    data = {"revision": "²", "release_name": "R", "version": "2.1.0", "service": "billing"}
    response = client.post(reverse("runs:create"), data)

    assert response.status_code == 422
    assert not lead.led_deployments.exists()
