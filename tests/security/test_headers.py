"""Security headers on every kind of response."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in header.split(";") if d.strip()}


@pytest.fixture
def responses(engineer, deployment, first_item):
    client = Client()
    anonymous = {
        "login page": client.get(reverse("login")),
        "redirect to login": client.get(reverse("history:list")),
        "static file": client.get("/static/js/run.js"),
        "health check": client.get(reverse("healthz")),
    }
    client.force_login(engineer)
    return {
        **anonymous,
        "run page": client.get(deployment.get_absolute_url()),
        "htmx fragment": client.post(
            reverse("runs:item_state", args=[deployment.pk, first_item.pk]),
            {"state": "done", "version": 1},
            HTTP_HX_REQUEST="true",
        ),
        "not found": client.get("/no-such-page/"),
        "wrong method": client.get(reverse("runs:status", args=[deployment.pk])),
    }


def test_every_response_carries_the_content_security_policy(responses):
    for name, response in responses.items():
        policy = _policy(response)
        assert policy["script-src"] == "'self'", name
        assert policy["default-src"] == "'self'", name
        assert policy["frame-ancestors"] == "'none'", name
        assert policy["object-src"] == "'none'", name
        assert policy["base-uri"] == "'none'", name
        assert policy["form-action"] == "'self'", name


def test_the_policy_allows_no_inline_code_or_eval(responses):
    header = responses["run page"]["Content-Security-Policy"]

    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert "*" not in header


def test_other_security_headers_are_set(responses):
    for name, response in responses.items():
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
    page = responses["run page"]
    assert page["X-Frame-Options"] == "DENY"
    assert page["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts_or_handlers(responses):
    import re

    for name in ("login page", "run page"):
        html = responses[name].content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (name, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), name
        assert "hx-on" not in html, name
        assert '"allowEval": false' in html
