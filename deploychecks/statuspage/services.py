"""The public status page: its state, the lead's controls and the public broadcast.

What customers see is derived from the deployment's state machine and its
rollback episode, plus a message and ETA the lead writes. Nothing else of the
deployment reaches the public page or its socket: no people, items, notes or
signal values. Public fragments go to a separate group (`public_group`) that
only the public consumer joins.
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from deploychecks.audit.services import record_event
from deploychecks.core.commit import after_commit
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.gonogo.models import RollbackEpisode
from deploychecks.realtime.broadcast import group_send
from deploychecks.runs import access, hooks
from deploychecks.runs.changes import resync_on_commit
from deploychecks.runs.models import Deployment
from deploychecks.statuspage.models import StatusPage
from deploychecks.statusupdates.events import UpdatePosted
from deploychecks.statusupdates.models import StatusUpdate

S = Deployment.Status
MESSAGE_MAX = 1000
ETA_MAX = 120
TITLE_MAX = 120
DEFAULT_TITLE = "Planned maintenance"
# Control characters other than newline and tab are dropped from public text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Milestone:
    label: str
    at: datetime | None
    current: bool


@dataclass(frozen=True)
class PublicState:
    key: str
    label: str
    since: datetime | None
    milestones: list[Milestone]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_group(deployment_id: int) -> str:
    return f"status-{deployment_id}"


def public_state(deployment: Deployment, episode=None) -> PublicState:
    """The customer-facing state, derived from the deployment's own state machine."""
    if episode is None:
        episode = RollbackEpisode.objects.filter(deployment=deployment).first()
    status = deployment.status
    steps = [
        ("scheduled", "Scheduled maintenance", deployment.planned_start or deployment.created_at)
    ]
    if deployment.started_at:
        steps.append(("in_progress", "Deployment in progress", deployment.started_at))
    if deployment.go_live_at:
        steps.append(("monitoring", "Monitoring", deployment.go_live_at))
    if episode is not None:
        steps.append(("rollback", "Rollback in progress", episode.started_at))
    if status == S.COMPLETED:
        steps.append(("operational", "Operational", deployment.ended_at))
    elif status == S.ROLLED_BACK:
        steps.append(("restored", "Service restored", deployment.ended_at))
    elif status == S.ABORTED:
        label = "Maintenance ended" if deployment.started_at else "Maintenance cancelled"
        steps.append(("ended", label, deployment.ended_at))
    key, label, since = steps[-1]
    milestones = [Milestone(lbl, at, i == len(steps) - 1) for i, (_, lbl, at) in enumerate(steps)]
    return PublicState(key=key, label=label, since=since, milestones=milestones)


def clean_text(value: str, limit: int, what: str) -> str:
    value = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if len(value) > limit:
        raise RunError(f"The {what} is too long (at most {limit} characters).")
    return value


def _locked(deployment_id: int, user) -> Deployment:
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    if access.role_of(user, deployment) != "lead":
        raise NotAllowed("Only the lead of this deployment can manage its status page.")
    return deployment


def _audit(deployment: Deployment, action: str, user, page: StatusPage, request, **after) -> None:
    seq = deployment.next_seq()
    # Nothing on the run page shows this; the empty event keeps the pages' sequence whole.
    resync_on_commit(deployment.pk, seq, "statuspage", resync=False)
    record_event(
        action=action,
        actor=user,
        deployment=deployment,
        seq=seq,
        target=page,
        target_repr="public status page",
        after=after or None,
        request=request,
    )


@transaction.atomic
def enable(*, deployment_id: int, user, request=None) -> StatusPage:
    deployment = _locked(deployment_id, user)
    page = StatusPage.objects.filter(deployment=deployment).first()
    if page is None:
        page = StatusPage.objects.create(deployment=deployment, token=new_token())
    elif page.enabled:
        return page
    else:
        page.enabled = True
        page.save(update_fields=["enabled", "updated_at"])
    _audit(deployment, "statuspage.enabled", user, page, request)
    publish_on_commit(deployment.pk)
    return page


@transaction.atomic
def disable(*, deployment_id: int, user, request=None) -> StatusPage | None:
    deployment = _locked(deployment_id, user)
    page = StatusPage.objects.filter(deployment=deployment, enabled=True).first()
    if page is None:
        return None
    page.enabled = False
    page.save(update_fields=["enabled", "updated_at"])
    _audit(deployment, "statuspage.disabled", user, page, request)
    publish_on_commit(deployment.pk)
    return page


@transaction.atomic
def rotate(*, deployment_id: int, user, request=None) -> StatusPage:
    """A new URL; the old one stops working at once, open sockets included."""
    deployment = _locked(deployment_id, user)
    page = StatusPage.objects.filter(deployment=deployment).first()
    if page is None:
        raise RunError("Enable the status page first.")
    page.token = new_token()
    page.save(update_fields=["token", "updated_at"])
    _audit(deployment, "statuspage.rotated", user, page, request)
    publish_on_commit(deployment.pk)
    return page


@transaction.atomic
def post_message(
    *, deployment_id: int, user, message: str, eta: str = "", title: str = "", request=None
) -> StatusPage:
    """The lead's words for customers (plain text: escaped when shown)."""
    message = clean_text(message, MESSAGE_MAX, "message")
    eta = clean_text(eta, ETA_MAX, "ETA")
    title = clean_text(title, TITLE_MAX, "title")
    deployment = _locked(deployment_id, user)
    page = StatusPage.objects.filter(deployment=deployment).first()
    if page is None:
        raise RunError("Enable the status page first.")
    if (page.message, page.eta, page.title) == (message, eta, title):
        return page
    page.message, page.eta, page.title = message, eta, title
    page.message_at = timezone.now()
    page.save(update_fields=["message", "eta", "title", "message_at", "updated_at"])
    _audit(
        deployment, "statuspage.message", user, page, request, message=message, eta=eta, title=title
    )
    publish_on_commit(deployment.pk)
    return page


PUBLIC_UPDATES_SHOWN = 10


def public_context(page: StatusPage) -> dict:
    deployment = page.deployment
    return {
        "page": page,
        # The lead's updates marked public: their words, colour and time; never
        # the author's name (the public page names nobody).
        "updates": list(
            StatusUpdate.objects.filter(deployment=deployment, public=True).only(
                "body", "rag", "created_at"
            )[:PUBLIC_UPDATES_SHOWN]
        ),
        "state": public_state(deployment),
        "title": page.title or DEFAULT_TITLE,
        "now": timezone.now(),
    }


def render_public(page: StatusPage) -> str:
    return render_to_string("statuspage/public.html#public-status", public_context(page))


def publish_on_commit(deployment_id: int) -> None:
    """After commit: the public fragment to the deployment's public group.

    The message names the digest of the page's current token (empty when
    disabled); a socket opened with another token closes itself.
    """

    def send():
        page = (
            StatusPage.objects.select_related("deployment")
            .filter(deployment_id=deployment_id)
            .first()
        )
        if page is None:
            return
        live = page.enabled
        text = json.dumps({"type": "status", "html": render_public(page)}) if live else ""
        group_send(
            public_group(deployment_id),
            {
                "type": "status.update",
                "digest": token_digest(page.token) if live else "",
                "text": text,
            },
        )

    after_commit(send, f"public status of deployment {deployment_id}")


def publish_change(event: hooks.Event) -> None:
    """Registered on runs.hooks.status_changed and gonogo.events.rollback_started:
    what the public sees follows the deployment's state."""
    publish_on_commit(event.deployment.pk)


def publish_update(event: UpdatePosted) -> None:
    """Registered on statusupdates.events.update_posted: a public update reaches
    the public page (and its open sockets) at once."""
    if event.update.public:
        publish_on_commit(event.deployment.pk)
