"""An object id in a URL that belongs to another deployment, or to nothing,
answers 404 for everyone: never a 500, never a 403 that tells it exists, and
never an action on the other deployment.

Driven from the URL resolver: a deployment URL that takes an id besides the
deployment's has to say here how to find that id on another deployment, so a
new nested URL without coverage fails `test_every_nested_id_has_a_source`.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from deploychecks.runs.models import Deployment, ItemNote, RunSubCheck
from deploychecks.runs.services import create_deployment
from tests.gates import go_live
from tests.security.conftest import client_for
from tests.security.test_permission_matrix import (
    DEPLOYMENT_MATRIX,
    GLOBAL_MATRIX,
    WRONG_METHOD,
    request,
    rolled_back,
    url_for,
)
from tests.security.urls import project_routes

pytestmark = pytest.mark.django_db

# Everyone who can see deployment A (and B, which they are on too), and the
# rest: none of them may reach B's objects through A's URLs.
ROLES = ("viewer", "approver", "engineer", "lead", "manager", "admin", "outsider")
MISSING = 2**31 - 7  # an id no test database reaches


def _other_reminder(other):
    Reminder = apps.get_model("reminders.Reminder")
    reminder = Reminder.objects.filter(deployment=other).order_by("pk").first()
    Reminder.objects.filter(pk=reminder.pk).update(status="sent", sent_at=timezone.now())
    return reminder.pk


def _other_evidence(other):
    Evidence = apps.get_model("evidence.Evidence")
    return Evidence.objects.filter(deployment=other).order_by("pk").first().pk


def _open_retro(deployment):
    """A retrospective on B (opened here on the live deployment), with a follow-up."""
    from deploychecks.retros import services as retros

    retros.open_retro(
        Deployment.objects.select_for_update().get(pk=deployment.pk), outcome="completed"
    )
    retros.add_follow_up(
        deployment_id=deployment.pk,
        user=deployment.lead,
        title="B's follow-up",
        owner_id=deployment.lead_id,
        due_date="2030-01-01",
    )


# URL keyword -> the id of such an object on the other deployment B.
OTHER_IDS = {
    "item_id": lambda other: other.items.order_by("pk").first().pk,
    "subcheck_id": lambda other: (
        RunSubCheck.objects.filter(item__deployment=other).order_by("pk").first().pk
    ),
    "role_id": lambda other: other.signoff_roles.order_by("position").first().pk,
    "reminder_id": _other_reminder,
    "evidence_id": _other_evidence,
    "note_id": lambda other: (
        ItemNote.objects.create(
            item=other.items.order_by("pk").first(),
            author=other.lead,
            author_name="lena",
            body="On B only.",
        ).pk
    ),
    # Someone on B only: not a participant of A.
    "user_id": lambda other: other.participants.get(role="viewer", user__username="bea").user_id,
    "section_id": lambda other: other.retrospective.sections.order_by("pk").first().pk,
    "follow_up_id": lambda other: other.follow_ups.order_by("pk").first().pk,
    # Not an object: an export format (an unknown one is a 404, tests/history).
    "fmt": None,
}


@pytest.fixture
def other(revision, people, make_user):
    """Deployment B: the same team as A (plus Bea, on B only), also live."""
    bea = make_user("bea")
    deployment = create_deployment(
        revision,
        user=people["lead"],
        release_name="Other release",
        version="3.0.0",
        previous_version="2.0.0",
        service="checkout-api",
        lead=people["lead"],
        engineers=[people["engineer"]],
        approvers={people["approver"]: "QA Lead"},
        viewers=[people["viewer"], bea],
    )
    go_live(deployment, people["lead"])
    if apps.is_installed("deploychecks.evidence"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from deploychecks.evidence import services as evidence

        evidence.add_file(
            deployment_id=deployment.pk,
            item_id=deployment.items.order_by("pk").first().pk,
            upload=SimpleUploadedFile("b.log", b"deploy B ok\n"),
            user=people["lead"],
        )
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        started_at=now - timedelta(hours=2), go_live_at=now - timedelta(hours=1)
    )
    if apps.is_installed("deploychecks.retros"):
        _open_retro(deployment)
    return deployment


def _nested_routes():
    return [r for r in project_routes() if r.is_deployment_url and set(r.kwargs) - {"pk"}]


def _state(*deployments):
    """What a refused request must leave alone: each deployment's sequence and
    status, and how many audit events there are."""
    AuditEvent = apps.get_model("audit.AuditEvent")
    return (
        [Deployment.objects.values_list("seq", "status").get(pk=d.pk) for d in deployments],
        AuditEvent.objects.count(),
    )


def test_every_nested_id_has_a_source():
    names = {name for r in _nested_routes() for name in r.kwargs if name != "pk"}

    assert names, "no nested deployment URLs found: has the URL walk broken?"
    assert not names - set(OTHER_IDS), (
        f"URL keywords {sorted(names - set(OTHER_IDS))} have no entry in OTHER_IDS "
        "(tests/security/test_object_ids.py): say how to find one on another deployment"
    )


def _attempts(route, ids, other):
    """(label, url) for each id of the route replaced by B's and by a missing one."""
    for name in route.kwargs:
        if name == "pk" or OTHER_IDS[name] is None:
            continue
        yield f"{name} of another deployment", url_for(route, ids, **{name: OTHER_IDS[name](other)})
        yield f"missing {name}", url_for(route, ids, **{name: MISSING})


def test_ids_of_another_deployment_or_of_nothing_answer_404(people, ids, other):
    clients = {role: client_for(people[role], raise_request_exception=False) for role in ROLES}
    before = _state(Deployment.objects.get(pk=ids.pk), other)
    wrong = []
    for route in _nested_routes():
        entry = DEPLOYMENT_MATRIX[route.name]
        for label, url in _attempts(route, ids, other):
            for method in ("GET", "POST"):
                if entry.get(method, WRONG_METHOD) is WRONG_METHOD:
                    continue
                data = entry["data"](ids) if method == "POST" and "data" in entry else None
                for role in ROLES:
                    with rolled_back():
                        response = request(clients[role], method, url, data)
                        after = _state(Deployment.objects.get(pk=ids.pk), other)
                    if response.status_code != 404 or after != before:
                        wrong.append(
                            f"{route.name:26} {method:4} {label:34} {role:9} "
                            f"got {response.status_code}"
                            + ("" if after == before else ", and something changed")
                        )

    assert not wrong, "Nested ids not answered with 404:\n" + "\n".join(wrong)


def test_missing_ids_in_other_urls_answer_404(people, ids):
    """Global URLs with ids (templates, revisions, webhooks, deliveries): a missing
    one is a 404 for everyone who may use the page at all."""
    clients = {role: client_for(people[role], raise_request_exception=False) for role in ROLES}
    wrong = []
    for route in project_routes():
        if route.is_deployment_url or route.name not in GLOBAL_MATRIX:
            continue
        numeric = [n for n in route.kwargs if isinstance(getattr(ids, n, None), int)]
        entry = GLOBAL_MATRIX[route.name]
        for name in numeric:
            url = url_for(route, ids, **{name: MISSING})
            for method in ("GET", "POST"):
                if entry.get(method, WRONG_METHOD) is WRONG_METHOD:
                    continue
                data = entry["data"](ids) if method == "POST" and "data" in entry else None
                for role in ROLES:
                    with rolled_back():
                        status = request(clients[role], method, url, data).status_code
                    # A page only admins may open may say 403 before it looks anything up.
                    if status != 404 and not (status == 403 and entry[method][role] == 403):
                        wrong.append(
                            f"{route.name:26} {method:4} missing {name:16} {role} {status}"
                        )

    assert not wrong, "Missing ids not answered with 404:\n" + "\n".join(wrong)


def _junk(data: dict) -> list[dict]:
    """Invalid versions of a form: empty, and every field garbage."""
    return [{}, dict.fromkeys(data, "not-a-valid-value"), {**data, "state": "exploded"}]


def test_permission_is_checked_before_the_input(people, ids):
    """Whoever may not act gets the refusal the permission matrix gives them
    (403, or 404 for outsiders), whatever they send: never 400 or 422, which
    would say their input was read."""
    clients = {role: client_for(people[role], raise_request_exception=False) for role in ROLES}
    wrong = []
    for route in project_routes():
        matrix = DEPLOYMENT_MATRIX if route.is_deployment_url else GLOBAL_MATRIX
        entry = matrix.get(route.name, {})
        if entry.get("POST", WRONG_METHOD) is WRONG_METHOD:
            continue
        data = entry["data"](ids) if "data" in entry else {}
        for role in ROLES:
            expected = entry["POST"][role]
            if expected not in (403, 404):
                continue
            for junk in _junk(data):
                with rolled_back():
                    status = request(clients[role], "POST", url_for(route, ids), junk).status_code
                if status != expected:
                    wrong.append(
                        f"{route.name:26} {role:9} {sorted(junk)} got {status}, not {expected}"
                    )

    assert not wrong, "Input judged before permission:\n" + "\n".join(wrong)


# Ids that forms send in their body: route -> (field, id on B).
BODY_IDS = {
    "signoffs:approvers": ("role", OTHER_IDS["role_id"]),
    "runs:set_participant": ("user", lambda other: MISSING),
}


@pytest.mark.parametrize("name", sorted(BODY_IDS))
def test_ids_in_a_form_of_another_deployment_are_refused_without_acting(name, people, ids, other):
    route = next(r for r in project_routes() if r.name == name)
    field, other_id = BODY_IDS[name]
    client = client_for(people["lead"], raise_request_exception=False)  # lead of A and B
    before = _state(Deployment.objects.get(pk=ids.pk), other)

    for value in (other_id(other), MISSING):
        data = {**DEPLOYMENT_MATRIX[name]["data"](ids), field: value}
        response = request(client, "POST", url_for(route, ids), data)

        assert 400 <= response.status_code < 500, (value, response.status_code)
    assert _state(Deployment.objects.get(pk=ids.pk), other) == before


def test_the_api_answers_404_for_items_of_another_deployment_or_none(people, ids, other):
    from deploychecks.api import tokens as api_tokens

    _, secret = api_tokens.create_personal_token(
        user=people["lead"], name="ids", scopes=["read", "tick"]
    )
    client = client_for(None, raise_request_exception=False)
    other_item = other.items.order_by("pk").first()
    before = _state(Deployment.objects.get(pk=ids.pk), other)
    wrong = []
    for ref in (other_item.pk, MISSING, "no-such-key"):
        base = f"/api/v1/deployments/{ids.pk}/items/{ref}"
        for path, body in (
            ("/state", {"state": "done", "expected_version": 1}),
            ("/subchecks/1/state", {"done": True, "expected_version": 1}),
            ("/notes", {"body": "From another deployment"}),
        ):
            response = client.post(
                base + path,
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {secret}"},
            )
            if response.status_code != 404:
                wrong.append(f"{base + path}: {response.status_code}")

    assert not wrong, "\n".join(wrong)
    assert _state(Deployment.objects.get(pk=ids.pk), other) == before
