"""Bearer tokens for the ingest API: the lead creates and revokes them.

The secret is returned once at creation; only its SHA-256 is stored.
"""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed
from deploychecks.gonogo.errors import SignalError
from deploychecks.gonogo.models import IngestToken
from deploychecks.runs import access
from deploychecks.runs.models import Deployment

TOKEN_PREFIX = "dcg_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_lead(user, deployment: Deployment) -> None:
    if access.role_of(user, deployment) != "lead":
        raise NotAllowed("Only the lead of this deployment can manage its ingest tokens.")


@transaction.atomic
def create_ingest_token(
    *, deployment_id: int, name: str, user, request=None
) -> tuple[IngestToken, str]:
    """A new token; the secret is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise SignalError("Give the token a name, e.g. the monitoring system that uses it.")
    if len(name) > 80:
        raise SignalError("The name is too long (at most 80 characters).")
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(user, deployment)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = IngestToken.objects.create(
        deployment=deployment,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_by=user,
    )
    record_event(
        action="ingest_token.created",
        actor=user,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=token,
        request=request,
    )
    return token, secret


@transaction.atomic
def revoke_ingest_token(*, deployment_id: int, token_id: int, user, request=None) -> bool:
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(user, deployment)
    token = (
        IngestToken.objects.select_for_update().filter(pk=token_id, deployment=deployment).first()
    )
    if token is None:
        raise SignalError("No such token.")
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        action="ingest_token.revoked",
        actor=user,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=token,
        request=request,
    )
    return True


def authenticate_ingest(deployment_id: int, secret: str) -> IngestToken | None:
    """The live token with this secret for this deployment, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    return IngestToken.objects.filter(
        token_hash=hash_token(secret), deployment_id=deployment_id, revoked_at__isnull=True
    ).first()
