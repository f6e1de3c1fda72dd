"""A NUL character anywhere in a request answers 400 and saves nothing.

PostgreSQL refuses NUL in text (a 500 if it reaches a query), so this runs on
PostgreSQL. Every URL of the project is walked from the resolver: each gets a
NUL in each field of its form (the permission matrix's data, or FIELDS here),
as someone allowed to use it; a URL with no known fields and not listed in
GET_ONLY fails `test_every_url_has_fields_to_poison`.
"""

import json

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deploychecks.api import tokens as api_tokens
from deploychecks.gonogo.tokens import create_ingest_token
from deploychecks.runs.models import Deployment
from tests.security.conftest import client_for
from tests.security.test_api_matrix import OPERATIONS
from tests.security.test_permission_matrix import (
    DEPLOYMENT_MATRIX,
    GLOBAL_MATRIX,
    PASSWORD,
    WRONG_METHOD,
    url_for,
)
from tests.security.urls import _walk

pytestmark = pytest.mark.django_db

NUL = "\x00"
# Not ours to police: Django's admin and static files.
SKIPPED = ("admin/", "static/")
# URLs that take no form (GET pages, or POSTs without fields); they still get a
# NUL in the query string, and in a stray form field.
GET_ONLY = {
    "home",
    "healthz",
    "logout",
    "password_change_done",
    "password_reset_done",
    "password_reset_complete",
    "password_reset_confirm",
    "runs:detail",
    "runs:checklist",
    "runs:timeline",
    "runs:presence",
    "runs:settings",
    "owners:my_work",
    "runs:remove_participant",
    "reminders:deployment",
    "reminders:centre",
    "history:list",
    "history:record",
    "history:export",
    "evidence:download",
    "evidence:form",
    "history:analytics",
    "history:chart_csv",
    "retros:page",
    "checklists:list",
    "checklists:detail",
    "checklists:revision",
    "checklists:export",
    "statuspage:public",
    "webhooks:list",
    "webhooks:deliveries",
    "webhooks:redeliver",
}
# Forms the permission matrix sends no data to: their fields, and who may post.
FIELDS = {
    "login": ("anonymous", ["username", "password"]),
    "password_change": ("engineer", ["old_password", "new_password1", "new_password2"]),
    "password_reset": ("anonymous", ["email"]),
    "checklists:import": ("admin", ["markdown_text", "action"]),
    "checklists:edit": ("admin", ["markdown_text", "action"]),
    "checklists:gates": ("admin", ["gates-0-name", "gates-TOTAL_FORMS"]),
    "reminders:template_rules": ("admin", ["rules-0-title", "rules-0-offset"]),
    "gonogo:template_signals": ("admin", ["form-0-name", "form-0-unit"]),
    "signoffs:template_rules": ("admin", ["rules-0-role", "rules-0-rule"]),
    "reminders:acknowledge": ("viewer", ["note"]),
    "api_pages:tokens": ("engineer", ["name", "scopes", "expires_in_days"]),
    "api_pages:service_tokens": ("admin", ["name", "services", "environments"]),
    # A bearer token, JSON: tested below (test_the_ingest_api_refuses_a_nul).
    "gonogo:ingest": None,
    "gonogo:ingest_batch": None,
}
# Fields a form has beyond the permission matrix's data (which sends the least it can).
EXTRA_FIELDS = {
    "signoffs:sign": ["comment", "password"],
    "runs:item_state": ["reason"],
    "runs:add_note": ["kind"],
    "evidence:add": ["note"],
}
OK_STATUSES = range(200, 400)


def _routes():
    return [r for r in _walk(_resolver_patterns()) if not r.route.startswith(SKIPPED)]


def _resolver_patterns():
    from django.urls import get_resolver

    return get_resolver().url_patterns


def _is_api(route) -> bool:
    return route.route.startswith("api/v1/")


def _snapshot():
    """Row counts of every table people change (sessions aside), and each
    deployment's sequence and status: "nothing saved" means all equal."""
    counts = {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label not in ("sessions", "contenttypes")
    }
    return counts, list(Deployment.objects.order_by("pk").values_list("pk", "seq", "status"))


def _allowed_role(route):
    """Someone the permission matrix lets post to this URL (2xx or 3xx)."""
    matrix = DEPLOYMENT_MATRIX if route.is_deployment_url else GLOBAL_MATRIX
    expected = matrix.get(route.name, {}).get("POST", WRONG_METHOD)
    if route.name in FIELDS:
        return FIELDS[route.name][0]
    if expected is WRONG_METHOD:
        return None
    for role in ("lead", "admin", "engineer", "viewer", "anonymous"):
        if expected[role] in OK_STATUSES:
            return role
    return None


def _form(route, ids) -> dict | None:
    entry = _entry(route)
    if route.name in FIELDS:
        return dict.fromkeys(FIELDS[route.name][1], "value")
    if entry.get("POST", WRONG_METHOD) is not WRONG_METHOD:
        data = dict(entry["data"](ids)) if "data" in entry else {}
        return {**data, **dict.fromkeys(EXTRA_FIELDS.get(route.name, []), "value")}
    return None


def _filled_url(route, ids):
    if route.name == "password_reset_confirm":
        return reverse(route.name, kwargs={"uidb64": "MQ", "token": "set-password"})
    return url_for(route, ids)


def _entry(route):
    matrix = DEPLOYMENT_MATRIX if route.is_deployment_url else GLOBAL_MATRIX
    return matrix.get(route.name, {})


def test_every_url_has_fields_to_poison():
    unknown = [
        r.name
        for r in _routes()
        if not _is_api(r)
        and r.name not in GET_ONLY
        and r.name not in FIELDS
        and _entry(r).get("POST", WRONG_METHOD) is WRONG_METHOD
    ]

    assert not unknown, (
        "URLs with no fields for the NUL test (add them to FIELDS or GET_ONLY in "
        f"tests/security/test_nul.py): {unknown}"
    )


def _poisoned(form: dict) -> list[tuple[str, dict]]:
    """The form once per field with a NUL in that field's value, and once with
    a NUL in a field's name."""
    variants = []
    for name, value in form.items():
        bad = [f"a{NUL}b" for _ in value] if isinstance(value, list) else f"{value}{NUL}"
        variants.append((name, {**form, name: bad}))
    variants.append((f"name{NUL}", {**form, f"note{NUL}": "x"}))
    return variants


def test_every_form_refuses_a_nul_in_any_field_and_saves_nothing(people, ids):
    clients = {role: client_for(people[role], raise_request_exception=False) for role in people}
    before = _snapshot()
    wrong = []
    for route in _routes():
        if _is_api(route) or FIELDS.get(route.name, ()) is None:
            continue
        form = _form(route, ids) or {"note": "stray"}
        role = _allowed_role(route) or "lead"
        url = _filled_url(route, ids)
        for field, data in _poisoned(form):
            response = clients[role].post(url, data, HTTP_HX_REQUEST="true")
            if response.status_code != 400:
                wrong.append(f"{route.name:28} {role:9} {field!r}: {response.status_code}")
    after = _snapshot()

    assert not wrong, "A NUL was not refused with 400:\n" + "\n".join(wrong)
    assert after == before, "something was saved"


def test_every_url_refuses_a_nul_in_its_query_string(people, ids):
    clients = {role: client_for(people[role], raise_request_exception=False) for role in people}
    wrong = []
    for route in _routes():
        if _is_api(route):
            continue  # test_every_api_operation_refuses_a_nul_in_its_body_and_query
        role = "admin" if not route.is_deployment_url else "lead"
        response = clients[role].get(_filled_url(route, ids), {"q": NUL, "kind": f"x{NUL}"})
        if response.status_code != 400:
            wrong.append(f"{route.name:28} {response.status_code}")

    assert not wrong, "A NUL in the query string was not refused with 400:\n" + "\n".join(wrong)


def test_the_refusal_says_what_and_keeps_the_form_as_typed(people, ids):
    client = client_for(people["lead"])

    htmx = client.post(
        reverse("runs:add_note", args=[ids.pk, ids.item_id]),
        {"body": f"Checked{NUL}"},
        HTTP_HX_REQUEST="true",
    )
    page = client.post(reverse("runs:add_note", args=[ids.pk, ids.item_id]), {"body": NUL})

    assert htmx.status_code == 400 and htmx["HX-Reswap"] == "none"
    assert "NUL character (in “body”)" in htmx.content.decode()
    assert 'role="alert"' in htmx.content.decode()
    assert page.status_code == 400 and "Nothing was saved" in page.content.decode()


def test_a_nul_in_an_uploaded_files_name_is_dropped_and_in_its_field_name_refused(people):
    client = client_for(people["admin"], raise_request_exception=False)
    markdown = b"# Uploaded\n\n## Go\n\n- [ ] **One**\n"

    refused = client.post(
        reverse("checklists:import"),
        {f"markdown_file{NUL}": SimpleUploadedFile("list.md", markdown), "action": "save"},
    )
    # Django's multipart parser drops unprintable characters from file names.
    saved = client.post(
        reverse("checklists:import"),
        {"markdown_file": SimpleUploadedFile(f"list{NUL}.md", markdown), "action": "save"},
    )

    assert refused.status_code == 400
    assert saved.status_code == 302


def test_the_ingest_api_refuses_a_nul(people, ids):
    _, secret = create_ingest_token(deployment_id=ids.pk, name="prometheus", user=people["lead"])
    client = client_for(None, raise_request_exception=False)
    before = _snapshot()
    url = reverse("gonogo:ingest", args=[ids.pk])
    bodies = [
        {"signal": f"{ids.signal}{NUL}", "value": 0.1},
        {"signal": ids.signal, "value": 0.1, "note": f"spike{NUL}"},
        {"signal": ids.signal, "value": 0.1, f"note{NUL}": "x"},
    ]

    statuses = [
        client.post(
            url,
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        ).status_code
        for body in bodies
    ]

    batch = client.post(
        reverse("gonogo:ingest_batch", args=[ids.pk]),
        json.dumps({"readings": [bodies[0], {"signal": ids.signal, "value": 0.2}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    assert statuses == [400, 400, 400] and batch.status_code == 400
    assert _snapshot() == before


def _strings_poisoned(body):
    """The body once per string value with a NUL in it."""
    for key, value in (body or {}).items():
        if isinstance(value, str):
            yield key, {**body, key: value + NUL}


def test_every_api_operation_refuses_a_nul_in_its_body_and_query(people, ids, client):
    _, secret = api_tokens.create_personal_token(
        user=people["lead"], name="nul", scopes=["read", "tick", "transition", "import"]
    )
    headers = {"Authorization": f"Bearer {secret}"}
    first_item = Deployment.objects.get(pk=ids.pk).items.exclude(key="").order_by("pk").first()
    ids.item_key, ids.item_version, ids.subcheck_version = first_item.key, 1, 1
    before = _snapshot()
    wrong = []
    for name, (method, path, body, *_) in OPERATIONS.items():
        url = "/api/v1" + path(ids)
        if method == "GET":
            response = client.get(url, {"q": NUL}, headers=headers)
            if response.status_code != 400:
                wrong.append(f"{name} query: {response.status_code}")
            continue
        for key, poisoned in _strings_poisoned(body(ids) if body else {}):
            response = client.post(
                url, json.dumps(poisoned), content_type="application/json", headers=headers
            )
            if response.status_code != 400 or response["Content-Type"] != (
                "application/problem+json"
            ):
                wrong.append(f"{name} {key}: {response.status_code}")

    assert not wrong, "API requests with a NUL not refused with 400:\n" + "\n".join(wrong)
    assert _snapshot() == before


def test_login_with_a_nul_is_refused_and_not_counted(people):
    client = client_for(None, raise_request_exception=False)
    before = _snapshot()

    response = client.post(reverse("login"), {"username": f"lena{NUL}", "password": PASSWORD})

    assert response.status_code == 400
    assert _snapshot() == before  # no failed attempt recorded either
