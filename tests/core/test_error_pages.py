"""403, 404 and 500 answer with the site's own layout and navigation, and say why."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from deploychecks.core.views import server_error
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db

NAV = '<nav aria-label="Main">'


def _client(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _assert_site_layout(html: str):
    assert html.startswith("<!doctype html>")
    assert NAV in html
    for name in ("history:list", "checklists:list", "history:analytics"):
        assert f'href="{reverse(name)}"' in html
    assert 'href="/static/css/app.css"' in html


def test_a_lead_who_is_not_an_admin_is_refused_import_with_a_page_saying_why(lead):
    may_start_deployments(lead)  # leads deployments; no admin

    response = _client(lead).get(reverse("checklists:import"))

    html = response.content.decode()
    assert response.status_code == 403
    _assert_site_layout(html)
    assert "<title>Not allowed · Deploychecks</title>" in html
    assert "Importing a template is for admins" in html
    assert (
        f'<a class="button" href="{reverse("checklists:list")}">Back to the templates</a>' in html
    )
    assert "Log out" in html  # the signed-in person's own menu, too


def test_a_refused_template_edit_links_back_to_that_template(lead, revision):
    response = _client(lead).post(reverse("checklists:edit", args=[revision.template_id]))

    assert response.status_code == 403
    assert "Editing a template is for admins" in response.content.decode()
    assert reverse("checklists:detail", args=[revision.template_id]) in response.content.decode()


def test_a_plain_permission_refusal_still_gets_the_styled_page(deployment, engineer):
    # The approvers page refuses anyone but the lead with a PermissionDenied of its own.
    response = _client(engineer).get(reverse("signoffs:approvers", args=[deployment.pk]))

    html = response.content.decode()
    assert response.status_code == 403
    _assert_site_layout(html)
    assert "Only the deployment lead can assign approvers." in html


def test_not_found_has_the_site_navigation(outsider):
    response = _client(outsider).get("/deployments/999999/")

    html = response.content.decode()
    assert response.status_code == 404
    _assert_site_layout(html)
    assert '<h1 id="error-heading">Not found</h1>' in html
    assert "999999" not in html  # says nothing about what was asked for


@pytest.mark.urls("tests.core.failing_urls")
def test_a_server_error_answers_with_the_styled_500_page(settings, engineer):
    settings.DEBUG = False

    response = _client(engineer, raise_request_exception=False).get("/broken/")

    html = response.content.decode()
    assert response.status_code == 500
    _assert_site_layout(html)
    assert "Something went wrong on our side" in html
    assert "connection to server" not in html  # nothing of the failure itself


def test_the_500_page_renders_with_the_database_unreachable(django_db_blocker):
    def user_from_the_database():
        raise AssertionError("the 500 page must not load the user")

    request = RequestFactory().get("/anything/")
    request.user = SimpleLazyObject(user_from_the_database)
    request.session = SimpleLazyObject(user_from_the_database)

    with django_db_blocker.block():  # any query now raises
        response = server_error(request)

    html = response.content.decode()
    assert response.status_code == 500
    _assert_site_layout(html)
    assert "Log out" not in html  # no user was looked up
