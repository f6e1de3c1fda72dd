"""Test set-up past the deployment gates: the items a transition needs, ticked in
the database, and the monitoring window behind us.

Set-up only: what the gates themselves do is tested in tests/runs/test_gates.py
and the features' own gate tests.
"""

from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone

from deploychecks.accounts.reauth import REAUTH_SESSION_KEY
from deploychecks.runs import status
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import change_status

NEEDED = {"monitoring": ["before"], "completed": ["before", "after"]}


def tick_needed(deployment, to: str) -> None:
    """Mark done, as set-up, every open item of the phases `to` needs; to go
    live, also fill in the contacts the template left as placeholders."""
    RunItem.objects.filter(
        deployment=deployment, phase__stage__in=NEEDED[to], state=RunItem.State.OPEN
    ).update(state=RunItem.State.DONE, version=F("version") + 1)
    if to == "monitoring":
        fill_contacts(deployment)


def fill_contacts(deployment) -> None:
    """Give every placeholder contact a person, a phone and a handle (set-up)."""
    for n, contact in enumerate(deployment.contacts.filter(filled_in=False), start=1):
        handle = "-".join(contact.role.lower().split())
        contact.person, contact.phone, contact.handle = handle, f"+1 555 01{n:02d}", f"@{handle}"
        contact.filled_in = True
        contact.save(update_fields=["person", "phone", "handle", "filled_in"])


def go_live(deployment, user):
    """Start the deployment and take it live, its pre-go-live items done."""
    change_status(deployment_id=deployment.pk, to="in_progress", user=user)
    tick_needed(deployment, "monitoring")
    change_status(deployment_id=deployment.pk, to="monitoring", user=user)
    deployment.refresh_from_db()
    return deployment


def past_the_window(deployment) -> None:
    """As if monitoring had lasted its whole window already."""
    deployment.refresh_from_db()
    hours = deployment.monitoring_hours or 0
    deployment.go_live_at -= timedelta(hours=hours, minutes=1)
    deployment.started_at = min(deployment.started_at, deployment.go_live_at)
    deployment.save(update_fields=["go_live_at", "started_at"])


def ready_to_complete(deployment) -> None:
    """Every item but the rollback procedure's done, and the window over."""
    tick_needed(deployment, "completed")
    past_the_window(deployment)


def confirmed_request(user):
    """A request whose session confirmed the user's password just now."""
    request = RequestFactory().post("/")
    request.user = user
    request.session = SessionStore()
    request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()
    request.request_id = "test"
    return request


def override(deployment, user, to: str, reason: str, *, request=None):
    """Override exactly the conditions the gate of `to` finds unmet now."""
    deployment.refresh_from_db()
    keys = [condition.key for condition in status.gate(deployment, to, user=user)]
    return change_status(
        deployment_id=deployment.pk,
        to=to,
        user=user,
        request=request or confirmed_request(user),
        override_reason=reason,
        override=keys,
    )
