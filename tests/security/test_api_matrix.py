"""The API's permission matrix: every operation × token scope × role, personal
and service tokens, a token of another service, and no token at all.

A token holds one scope here, so each cell shows what that scope alone allows
together with the role of the person (or the team place of the service
account). Expected answers come from four access rules, listed per operation
in OPERATIONS; RULES says what each rule gives each kind of token. Every
operation of the OpenAPI document must have a row.
"""

from types import SimpleNamespace

import pytest

from deploychecks.api import tokens
from deploychecks.api.main import api
from deploychecks.runs.models import Participant, RunSubCheck
from tests.security.test_permission_matrix import rolled_back

SCOPES = ("read", "tick", "transition", "import")
# Who holds the token: a person by their role on the deployment, or a service
# account: of its service and on the team as engineer, of its service but not on
# the team, or of another service.
HOLDERS = (
    "outsider", "viewer", "approver", "engineer", "lead", "manager", "admin",
    "service-on-team", "service-off-team", "other-service",
)  # fmt: skip
READERS = {"viewer", "approver", "engineer", "lead", "manager", "service-on-team",
           "service-off-team"}  # fmt: skip
EDITORS = {"engineer", "lead", "service-on-team"}
STARTERS = {"engineer", "lead", "admin", "service-on-team", "service-off-team"}
SAVERS = {"admin", "service-on-team", "service-off-team", "other-service"}


def _expect(rule: str, ok: int):
    """holder -> status, with the right scope, for an access rule."""

    def expected(holder: str) -> int:
        if rule == "any":  # templates: shared by every team
            return ok
        if rule == "save":  # saving a template: admins, and admins' service tokens
            return ok if holder in SAVERS else 403
        if rule == "start":  # a person who may start deployments; a token of that service
            return ok if holder in STARTERS else 403
        if holder not in READERS:
            return 404  # outsiders learn nothing, as on the pages
        if rule == "read":
            return ok
        return ok if holder in EDITORS else 403  # "edit"

    return expected


def _item(ids):
    return f"/deployments/{ids.pk}/items/{ids.item_key}"


# name -> (method, path, body, scope, rule, status when allowed)
OPERATIONS = {
    "list_templates": ("GET", lambda ids: "/templates", None, "read", "any", 200),
    "get_template": ("GET", lambda i: f"/templates/{i.template_id}", None, "read", "any", 200),
    "export_template": (
        "GET", lambda i: f"/templates/{i.template_id}/export", None, "read", "any", 200,
    ),
    "import_template": (
        "POST",
        lambda ids: "/templates/import",
        lambda ids: {"markdown": "# Matrix checklist\n\n## Go\n- [ ] **One**\n", "dry_run": False},
        "import", "save", 201,
    ),
    "list_deployments": ("GET", lambda ids: "/deployments", None, "read", "any", 200),
    "create_deployment": (
        "POST",
        lambda ids: "/deployments",
        lambda ids: {"template": str(ids.template_id), "service": "checkout-api",
                     "version": "9.9.9", "lead": "lena"},
        "transition", "start", 201,
    ),
    "get_deployment": ("GET", lambda i: f"/deployments/{i.pk}", None, "read", "read", 200),
    "get_gate": (
        "GET", lambda i: f"/deployments/{i.pk}/gate?for=complete", None, "read", "read", 200,
    ),
    "audit_timeline": ("GET", lambda i: f"/deployments/{i.pk}/audit", None, "read", "read", 200),
    "set_item_state": (
        "POST",
        lambda ids: _item(ids) + "/state",
        lambda ids: {"state": "done", "expected_version": ids.item_version},
        "tick", "edit", 200,
    ),
    "set_subcheck_state": (
        "POST",
        lambda ids: _item(ids) + "/subchecks/1/state",
        lambda ids: {"done": True, "expected_version": ids.subcheck_version},
        "tick", "edit", 200,
    ),
    "add_note": (
        "POST", lambda ids: _item(ids) + "/notes", lambda ids: {"body": "From the matrix"},
        "tick", "edit", 201,
    ),
    "add_evidence_link": (
        "POST", lambda ids: _item(ids) + "/evidence",
        lambda ids: {"url": "https://ci.example.com/runs/1", "title": "CI run"},
        "tick", "edit", 201,
    ),
    "add_reading": (
        "POST",
        lambda ids: f"/deployments/{ids.pk}/readings",
        lambda ids: {"signal": ids.signal, "value": 0.1},
        "tick", "edit", 201,
    ),
    # Completing a live deployment whose gate is closed: even its lead gets the
    # 409 with the unmet list: a token never overrides a gate.
    "change_status": (
        "POST", lambda ids: f"/deployments/{ids.pk}/status", lambda ids: {"to": "completed"},
        "transition", "edit", 409,
    ),
}  # fmt: skip


@pytest.fixture
def api_ids(ids, deployment):
    item = (
        RunSubCheck.objects.filter(item__deployment=deployment, position=1)
        .select_related("item")
        .order_by("item__phase__position", "item__position")
        .first()
        .item
    )
    return SimpleNamespace(
        **vars(ids),
        item_key=item.key,
        item_version=item.version,
        subcheck_version=item.subchecks.get(position=1).version,
    )


@pytest.fixture
def holders(people, admin_user, deployment):
    """holder -> one token secret per scope."""
    secrets = {}
    for holder in HOLDERS:
        for scope in SCOPES:
            if holder.startswith(("service", "other")):
                service = "billing" if holder == "other-service" else "checkout-api"
                token, secret = tokens.create_service_token(
                    user=admin_user, name=f"{holder} {scope}", scopes=[scope], services=[service]
                )
                if holder == "service-on-team":
                    Participant.objects.create(
                        deployment=deployment, user=token.user, role="engineer"
                    )
            else:
                _, secret = tokens.create_personal_token(
                    user=people[holder], name=f"{holder} {scope}", scopes=[scope]
                )
            secrets[holder, scope] = secret
    return secrets


def _call(client, method, path, body, secret):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if method == "GET":
        return client.get("/api/v1" + path, headers=headers)
    return client.post(
        "/api/v1" + path, body or {}, content_type="application/json", headers=headers
    )


def test_every_operation_has_a_row():
    operation_ids = [
        operation["operationId"]
        for path in api.get_openapi_schema()["paths"].values()
        for operation in path.values()
    ]
    rows = {op: [name for name in OPERATIONS if op.endswith("_" + name)] for op in operation_ids}
    assert all(len(names) == 1 for names in rows.values()), rows
    assert {names[0] for names in rows.values()} == set(OPERATIONS)


def test_every_operation_answers_each_scope_and_holder_as_listed(client, api_ids, holders):
    mismatches = []
    for name, (method, path, body, scope, rule, ok) in OPERATIONS.items():
        expected_for = _expect(rule, ok)
        for holder in HOLDERS:
            for token_scope in SCOPES:
                expected = expected_for(holder) if token_scope == scope else 403
                with rolled_back():
                    response = _call(
                        client,
                        method,
                        path(api_ids),
                        body(api_ids) if body else None,
                        holders[holder, token_scope],
                    )
                if response.status_code != expected:
                    mismatches.append(
                        f"{name:18} {holder:16} {token_scope:10} got {response.status_code}, "
                        f"expected {expected}: {response.content[:160]!r}"
                    )
    assert not mismatches, "API permission matrix violated:\n" + "\n".join(mismatches)


def test_no_token_a_wrong_one_a_revoked_one_and_an_expired_one_get_401(client, api_ids, people):
    token, secret = tokens.create_personal_token(user=people["lead"], name="x", scopes=SCOPES)
    revoked_token, revoked = tokens.create_personal_token(
        user=people["lead"], name="y", scopes=SCOPES
    )
    tokens.revoke_token(user=people["lead"], token_id=revoked_token.pk)
    expired_token, expired = tokens.create_personal_token(
        user=people["lead"], name="z", scopes=SCOPES
    )
    type(expired_token).objects.filter(pk=expired_token.pk).update(expires_at="2000-01-01T00:00Z")
    for name, (method, path, body, *_) in OPERATIONS.items():
        for secret_used in (None, "dct_wrong", secret[:-1], revoked, expired):
            with rolled_back():
                response = _call(
                    client, method, path(api_ids), body(api_ids) if body else None, secret_used
                )
            assert response.status_code == 401, (name, secret_used)
            assert response["Content-Type"] == "application/problem+json"


def test_the_documentation_is_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
