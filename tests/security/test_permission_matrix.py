"""Every URL of a deployment, requested by every kind of person, against an explicit matrix.

The URL list comes from walking the project's URLconf, so a new deployment URL
without a row here fails `test_every_deployment_url_has_a_row`. Each request
runs in a savepoint that is rolled back, so every cell starts from the same
state and the order of requests does not matter.
"""

import re
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.urls import reverse

from deploychecks.runs.models import Deployment
from deploychecks.runs.status import gate
from deploychecks.signoffs.services import checklist_hash
from tests.security.conftest import client_for
from tests.security.urls import project_routes

pytestmark = pytest.mark.django_db

# The lead's webhook must be signed and on an allowed (or public) host.
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

PASSWORD = "pw-" + "x" * 12  # make_user's default

CSRF_TOKEN = re.compile(rb'(?<=value=")[A-Za-z0-9]{64}(?=")|(?<="X-CSRFToken": ")[A-Za-z0-9]{64}')
ROLES = ("anonymous", "outsider", "viewer", "approver", "engineer", "lead", "manager", "admin")


def _row(default, **overrides):
    row = dict.fromkeys(ROLES, default)
    row["anonymous"] = 302  # LoginRequiredMiddleware: to the login page, before any view
    row.update(overrides)
    return row


# Reading a deployment: everyone on it and managers; outsiders (admins of
# templates included) get 404, never 403, so they learn nothing.
READ = _row(200, outsider=404, admin=404)
# Ticking, notes, N/A, status: the lead and engineers.
WORK = _row(403, outsider=404, admin=404, engineer=200, lead=200)
# Participants and contacts: the lead only.
LEAD = _row(403, outsider=404, admin=404, lead=200)
# Lead-only pages that hide themselves from the rest of the team too.
LEAD_HIDDEN = _row(404, lead=200)
# Actions that answer with a redirect back to their page (no htmx partial).
LEAD_REDIRECT = _row(403, outsider=404, admin=404, lead=302)
# A retrospective: written by the lead and engineers (a redirect back to its page).
RETRO_WRITE = _row(403, outsider=404, admin=404, lead=302, engineer=302)
# The wrong method. Refused before the deployment is looked up, so the answer
# is the same for a deployment that does not exist: nothing is learned.
WRONG_METHOD = _row(405)
# Global pages (no deployment).
EVERYONE = _row(200)
ADMINS = _row(403, admin=200)
# Starting a deployment (and so leading it): engineers, leads and admins, by the
# runs.add_deployment permission of the engineers and admins groups.
STARTERS = _row(403, engineer=200, lead=200, admin=200)
STARTED = _row(403, engineer=302, lead=302, admin=302)  # created, off to its page
# Webhooks: admins, and leads for the services they lead (the lead here leads one);
# a subscription is its owner's (here the lead's) and the admins', a 404 for the rest.
SUBSCRIBERS = _row(403, lead=200, admin=200)
SUBSCRIPTION = _row(404, lead=200, admin=200)
SUBSCRIPTION_REDIRECT = _row(404, lead=302, admin=302)


def _now_minute():
    from django.utils import timezone

    return (timezone.now() - timezone.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")


def _contacts(ids):
    return {
        "contacts-TOTAL_FORMS": "1",
        "contacts-INITIAL_FORMS": "0",
        "contacts-0-role": "Incident commander",
        "contacts-0-person": "Ida",
        "contacts-0-phone": "+1 555 0100",
        "contacts-0-handle": "@ida",
    }


def _override(ids):
    deployment = Deployment.objects.get(pk=ids.pk)
    return {
        "to": "completed",
        "override_reason": "The approvers are away; the CTO said go",
        "override": [condition.key for condition in gate(deployment, "completed")],
        "password": PASSWORD,
    }


def _subscription(ids):
    return {
        "name": "Matrix hook",
        "url": "https://hooks.example.com/x",
        "format": "standard",
        "service": "checkout-api",
        "event_types": ["deployment.status_changed"],
    }


# name -> {"GET": row, "POST": row, "data": ids -> form data for the POST}
DEPLOYMENT_MATRIX = {
    "runs:detail": {"GET": READ, "POST": WRONG_METHOD},
    "runs:checklist": {"GET": READ, "POST": WRONG_METHOD},
    "runs:timeline": {"GET": READ, "POST": WRONG_METHOD},
    "runs:presence": {"GET": READ, "POST": WRONG_METHOD},
    "runs:settings": {"GET": READ, "POST": WRONG_METHOD},
    "runs:status": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"to": "monitoring"},
    },  # where it is: a no-op
    # Overriding the gate (to complete, past what is unmet): the lead (and admins of
    # the deployment, tests/runs/test_gates.py); everyone else who can see it, 403.
    "runs:override": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, lead=200),
        "data": _override,
    },
    "runs:item_state": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"state": "done", "version": 1},
    },
    "runs:add_note": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"body": "Checked with the on-call."},
    },
    # A note's author (the engineer here) and the lead; the rest who see it, 403.
    "runs:edit_note": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, engineer=200, lead=200),
        "data": lambda ids: {"body": "Checked with the on-call, twice."},
    },
    "runs:delete_note": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, engineer=200, lead=200),
    },
    "runs:subcheck_state": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"done": "true", "version": 1},
    },
    "runs:set_participant": {
        "GET": WRONG_METHOD,
        "POST": LEAD,
        "data": lambda ids: {"user": ids.newcomer, "role": "viewer"},
    },
    "runs:remove_participant": {"GET": WRONG_METHOD, "POST": LEAD},
    "runs:save_contacts": {"GET": WRONG_METHOD, "POST": LEAD, "data": _contacts},
    # Sign-offs (deploychecks.signoffs). A refused sign-off answers 200 with the
    # reason in the panel (htmx swaps no 4xx); tests/signoffs proves who may sign.
    "signoffs:sign": {
        "GET": WRONG_METHOD,
        "POST": _row(200, outsider=404, admin=404),
        # As the panel's form sends it; without the hash it is 400 (tests/signoffs).
        "data": lambda ids: {"decision": "approve", "checklist_hash": checklist_hash(ids.pk)},
    },
    "signoffs:approvers": {
        "GET": LEAD,
        "POST": LEAD_REDIRECT,
        "data": lambda ids: {"role": ids.role_id, "user": ids.newcomer, "kind": "primary"},
    },
    # Reminders (deploychecks.reminders): anyone on the deployment may acknowledge.
    "reminders:deployment": {"GET": READ, "POST": WRONG_METHOD},
    "reminders:centre": {"GET": READ, "POST": WRONG_METHOD},
    "reminders:acknowledge": {"GET": WRONG_METHOD, "POST": READ},
    "reminders:reschedule": {
        "GET": WRONG_METHOD,
        "POST": LEAD_REDIRECT,
        "data": lambda ids: {"go_live_at": _now_minute()},
    },
    "reminders:webhook": {
        "GET": WRONG_METHOD,
        "POST": LEAD_REDIRECT,
        "data": lambda ids: {"url": "https://hooks.example.com/x", "secret": WEBHOOK_SECRET},
    },
    # Owners and due times (deploychecks.owners): the lead only; tests/owners.
    "owners:assign": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, lead=200),
        "data": lambda ids: {"item": ids.item_id, "owners": "@erin", "due": "2h after go-live"},
    },
    # Status updates (deploychecks.statusupdates; tests/statusupdates): the lead
    # posts, anyone who may read the deployment follows it.
    "statusupdates:post": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, lead=200),
        "data": lambda ids: {"body": "All **green** so far", "rag": "green", "public": "1"},
    },
    "statusupdates:cadence": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, lead=200),
        "data": lambda ids: {"in_progress": "30", "monitoring": "60"},
    },
    "statusupdates:follow": {
        "GET": WRONG_METHOD,
        "POST": READ,
        "data": lambda ids: {"follow": "1"},
    },
    # Evidence (deploychecks.evidence; tests/evidence): who may tick an item adds
    # evidence to it; anyone who may read the deployment downloads its files.
    "evidence:add": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"url": "https://ci.example.com/runs/1", "title": "CI run"},
    },
    "evidence:form": {"GET": WORK, "POST": WRONG_METHOD},
    "evidence:download": {"GET": READ, "POST": WRONG_METHOD},
    # Go/no-go (deploychecks.gonogo).
    "gonogo:add_reading": {
        "GET": WRONG_METHOD,
        "POST": WORK,
        "data": lambda ids: {"signal": ids.signal, "value": "0.1", "observed_at": _now_minute()},
    },
    "gonogo:start_rollback": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, engineer=204, lead=204),
        "data": lambda ids: {"reason": "Error rate over the red line"},
    },
    "gonogo:tokens": {
        "GET": LEAD_HIDDEN,
        "POST": LEAD_HIDDEN,
        "data": lambda ids: {"name": "monitoring"},
    },
    # A machine API: a bearer token, no session, no CSRF; a person's session is no key.
    "gonogo:ingest": {"GET": _row(405, anonymous=405), "POST": _row(401, anonymous=401)},
    "gonogo:ingest_batch": {"GET": _row(405, anonymous=405), "POST": _row(401, anonymous=401)},
    # History (deploychecks.history): the permanent record and its exports.
    "history:record": {"GET": READ, "POST": WRONG_METHOD},
    "history:export": {"GET": READ, "POST": WRONG_METHOD},
    # Retrospectives (deploychecks.retros; tests/retros): everyone who may read the
    # deployment reads it; the lead and engineers write it (redirect back), and a
    # follow-up's owner may mark it done (tests/retros); the lead or a manager publishes it.
    "retros:page": {"GET": READ, "POST": WRONG_METHOD},
    "retros:section": {
        "GET": WRONG_METHOD,
        "POST": RETRO_WRITE,
        "data": lambda ids: {"body": "The backups were quick."},
    },
    "retros:add_follow_up": {
        "GET": WRONG_METHOD,
        "POST": RETRO_WRITE,
        "data": lambda ids: {
            "title": "Alert sooner",
            "owner": Deployment.objects.get(pk=ids.pk).lead_id,
            "due_date": "2030-01-01",
            "link": "https://tracker.example.com/OPS-1",
        },
    },
    "retros:follow_up_done": {
        "GET": WRONG_METHOD,
        "POST": RETRO_WRITE,
        "data": lambda ids: {"done": "1"},
    },
    "retros:publish": {
        "GET": WRONG_METHOD,
        "POST": _row(403, outsider=404, admin=404, lead=302, manager=302),
    },
    # Public status page (deploychecks.statuspage): its lead-only management page.
    "statuspage:manage": {
        "GET": LEAD_HIDDEN,
        "POST": _row(404, lead=302),
        "data": lambda ids: {"action": "enable"},
    },
}

GLOBAL_MATRIX = {
    "home": {"GET": _row(302)},  # redirects to the deployment list
    "history:list": {"GET": EVERYONE},
    "runs:create": {
        "GET": STARTERS,
        "POST": STARTED,
        "data": lambda ids: {
            "revision": ids.revision,
            "release_name": "Matrix release",
            "version": "9.9.9",
            "service": "matrix",
            "environment": "production",
        },
    },
    # "My work": each person's own items and sign-offs (tests/owners/test_views.py).
    "owners:my_work": {"GET": EVERYONE, "POST": WRONG_METHOD},
    "checklists:list": {"GET": EVERYONE},
    "checklists:detail": {"GET": EVERYONE},
    "checklists:revision": {"GET": EVERYONE},
    "checklists:export": {"GET": EVERYONE},
    "checklists:import": {"GET": ADMINS},
    "checklists:edit": {"GET": ADMINS},
    "checklists:gates": {"GET": ADMINS},
    "reminders:template_rules": {"GET": ADMINS},
    "gonogo:template_signals": {"GET": ADMINS},
    "signoffs:template_rules": {"GET": ADMINS},
    # Analytics over the deployments each person may see (tests/history/test_analytics.py).
    "history:analytics": {"GET": EVERYONE},
    "history:chart_csv": {"GET": EVERYONE},
    # API tokens: everyone's own page; service tokens are the admins'.
    "api_pages:tokens": {"GET": EVERYONE},
    "api_pages:service_tokens": {"GET": ADMINS},
    # The public status page: anyone with its unguessable token, logged in or not.
    "statuspage:public": {"GET": _row(200, anonymous=200)},
    # Outbound webhooks (deploychecks.webhooks; tests/webhooks/test_subscriptions.py).
    "webhooks:list": {"GET": SUBSCRIBERS},
    "webhooks:create": {"GET": SUBSCRIBERS, "POST": SUBSCRIBERS, "data": _subscription},
    "webhooks:edit": {"GET": SUBSCRIPTION, "POST": SUBSCRIPTION_REDIRECT, "data": _subscription},
    "webhooks:set_active": {
        "GET": WRONG_METHOD,
        "POST": SUBSCRIPTION_REDIRECT,
        "data": lambda ids: {"active": "0"},
    },
    "webhooks:deliveries": {"GET": SUBSCRIPTION, "POST": WRONG_METHOD},
    "webhooks:redeliver": {"GET": WRONG_METHOD, "POST": SUBSCRIPTION_REDIRECT},
}


@pytest.fixture(autouse=True)
def _webhook_host_allowed(settings):
    # Allowed hosts are not resolved: the matrix needs no DNS.
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def url_for(route, ids, **override):
    kwargs = {}
    for name in route.kwargs:
        value = override.get(name, getattr(ids, name, None))
        assert value is not None, (
            f"{route.name} ({route.route}) takes <{name}>, which the permission matrix "
            f"cannot fill: add a real id for {name!r} to the `ids` fixture in "
            "tests/security/conftest.py"
        )
        kwargs[name] = value
    return reverse(route.name, kwargs=kwargs)


def request(client, method, url, data=None):
    # As the page sends them: htmx requests (the partial answers).
    if method == "GET":
        return client.get(url, HTTP_HX_REQUEST="true")
    return client.post(url, data or {}, HTTP_HX_REQUEST="true")


def _mismatches(matrix, routes, people, ids):
    clients = {role: client_for(people[role]) for role in ROLES}
    found = []
    for route in routes:
        entry = matrix[route.name]
        url = url_for(route, ids)
        for method in ("GET", "POST"):
            if method not in entry:
                continue
            data = entry["data"](ids) if method == "POST" and "data" in entry else None
            for role in ROLES:
                with rolled_back():
                    status = request(clients[role], method, url, data).status_code
                expected = entry[method][role]
                if status != expected:
                    found.append(
                        f"{route.name:28} {method:4} {role:9} got {status}, expected {expected}"
                    )
    return found


def _missing_rows(routes, matrix):
    walked = {r.name for r in routes}
    lines = [
        f"  {name}: no row in the permission matrix (tests/security/test_permission_matrix.py)"
        for name in sorted(walked - set(matrix))
    ]
    lines += [
        f"  {name}: has a row but no such URL any more" for name in sorted(set(matrix) - walked)
    ]
    return lines


def test_every_deployment_url_has_a_row():
    routes = [r for r in project_routes() if r.is_deployment_url]
    names = [r.name for r in routes]

    assert len(names) == len(set(names)), f"URL names used twice: {names}"
    problems = _missing_rows(routes, DEPLOYMENT_MATRIX)
    assert not problems, "Deployment URLs and the matrix differ:\n" + "\n".join(problems)


def test_every_other_url_has_a_row():
    routes = [r for r in project_routes() if not r.is_deployment_url]

    problems = _missing_rows(routes, GLOBAL_MATRIX)
    assert not problems, "Global URLs and the matrix differ:\n" + "\n".join(problems)


def test_deployment_urls_answer_as_the_matrix_says(people, ids):
    routes = [r for r in project_routes() if r.name in DEPLOYMENT_MATRIX]

    mismatches = _mismatches(DEPLOYMENT_MATRIX, routes, people, ids)

    assert not mismatches, "Permission matrix violated:\n" + "\n".join(mismatches)


def test_global_urls_answer_as_the_matrix_says(people, ids):
    routes = [r for r in project_routes() if r.name in GLOBAL_MATRIX]

    mismatches = _mismatches(GLOBAL_MATRIX, routes, people, ids)

    assert not mismatches, "Permission matrix violated:\n" + "\n".join(mismatches)


def _no_csrf(content: bytes) -> bytes:
    """The page without its CSRF token, which is masked afresh for every response."""
    return CSRF_TOKEN.sub(b"<csrf>", content)


def test_outsider_cannot_tell_a_real_deployment_from_a_missing_one(people, ids):
    client = client_for(people["outsider"])
    different = []
    for route in (r for r in project_routes() if r.name in DEPLOYMENT_MATRIX):
        entry = DEPLOYMENT_MATRIX[route.name]
        for method in ("GET", "POST"):
            data = entry["data"](ids) if method == "POST" and "data" in entry else None
            with rolled_back():
                real = request(client, method, url_for(route, ids), data)
            with rolled_back():
                missing = request(client, method, url_for(route, ids, pk=ids.pk + 10_000), data)
            if (real.status_code, _no_csrf(real.content)) != (
                missing.status_code,
                _no_csrf(missing.content),
            ):
                different.append(
                    f"{route.name} {method}: {real.status_code} vs {missing.status_code}"
                )

    assert not different, "\n".join(different)
