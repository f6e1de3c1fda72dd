"""Making, revoking and checking API tokens. Every change is audited.

A secret is "dct_" and 43 random URL-safe characters: shown once, stored as
its SHA-256 (a random 256-bit secret needs no slow hash: there is nothing to
guess from its digest).
"""

import hashlib
import ipaddress
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from deploychecks.accounts.people import client_ip, is_admin
from deploychecks.api.models import ApiToken, Scope
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed, RunError

TOKEN_PREFIX = "dct_"  # noqa: S105  a public prefix, not a secret
NAME_MAX = 80
EXPIRY_DAYS_MAX = 366
SERVICE_NAME_MAX = 120
ENVIRONMENT_NAME_MAX = 60
# last_used_at is written at most this often per token: not a write per request.
TOUCH_SECONDS = 60


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise RunError("Give the token a name, e.g. the pipeline that uses it.")
    if len(name) > NAME_MAX:
        raise RunError(f"The name is too long (at most {NAME_MAX} characters).")
    return name


def _clean_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or ()))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown:
        raise RunError(f"Unknown scope {unknown[0]!r}.")
    if not scopes:
        raise RunError("Choose at least one scope.")
    return scopes


def _expiry(days: int):
    if not isinstance(days, int) or not 1 <= days <= EXPIRY_DAYS_MAX:
        raise RunError(f"A token expires after 1 to {EXPIRY_DAYS_MAX} days.")
    return timezone.now() + timedelta(days=days)


def _names(values, limit: int, what: str) -> list[str]:
    cleaned = sorted({v.strip() for v in values or () if v and v.strip()})
    for value in cleaned:
        if len(value) > limit:
            raise RunError(f"The {what} “{value[:40]}…” is too long (at most {limit}).")
    return cleaned


def _audit(action: str, token: ApiToken, user, request, **after) -> None:
    record_event(
        action=action,
        actor=user,
        target=token,
        after={
            "kind": token.kind,
            "name": token.name,
            "scopes": token.scopes,
            "services": token.services,
            "environments": token.environments,
            "expires_at": token.expires_at,
            **after,
        },
        request=request,
    )


@transaction.atomic
def create_personal_token(
    *, user, name: str, scopes, expires_in_days: int = 90, request=None
) -> tuple[ApiToken, str]:
    """A token that acts as `user`, limited to `scopes`; (token, secret shown once)."""
    secret = _new_secret()
    token = ApiToken.objects.create(
        kind=ApiToken.Kind.PERSONAL,
        name=_clean_name(name),
        user=user,
        token_hash=hash_secret(secret),
        prefix=secret[:12],
        scopes=_clean_scopes(scopes),
        rate_limit=settings.API_RATE_LIMIT_PER_MINUTE,
        created_by=user,
        expires_at=_expiry(expires_in_days),
    )
    _audit("api_token.created", token, user, request)
    return token, secret


@transaction.atomic
def create_service_token(
    *,
    user,
    name: str,
    scopes,
    services,
    environments=(),
    expires_in_days: int = 90,
    request=None,
) -> tuple[ApiToken, str]:
    """An admin's token for a pipeline, acting as an account of its own.

    It reaches the deployments of `services` (and of `environments`, all when
    empty); reading needs nothing more, changing one needs its account on the
    deployment's team as an engineer (which it is on deployments it started).
    """
    if not is_admin(user):
        raise NotAllowed("Only admins make service tokens.")
    name = _clean_name(name)
    services = _names(services, SERVICE_NAME_MAX, "service")
    if not services:
        raise RunError("Name at least one service the token may reach.")
    environments = _names(environments, ENVIRONMENT_NAME_MAX, "environment")
    secret = _new_secret()
    token = ApiToken.objects.create(
        kind=ApiToken.Kind.SERVICE,
        name=name,
        user=_service_account(name),
        token_hash=hash_secret(secret),
        prefix=secret[:12],
        scopes=_clean_scopes(scopes),
        services=services,
        environments=environments,
        rate_limit=settings.API_RATE_LIMIT_PER_MINUTE,
        created_by=user,
        expires_at=_expiry(expires_in_days),
    )
    _audit("api_token.created", token, user, request, account=token.user.get_username())
    return token, secret


def _service_account(name: str):
    """A user that is only this token: no usable password, in no group."""
    User = get_user_model()
    base = "svc-" + (slugify(name)[:40] or "token")
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    account = User(username=username, first_name=name[:150], last_name="(service token)")
    account.set_unusable_password()
    account.save()
    return account


def _own_token(user, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise RunError("No such token.")
    mine = token.kind == ApiToken.Kind.PERSONAL and token.user_id == user.pk
    if not mine and not is_admin(user):
        raise RunError("No such token.")
    return token


@transaction.atomic
def revoke_token(*, user, token_id: int, request=None) -> bool:
    """Its owner (personal) or an admin (any) revokes a token: it stops at once."""
    token = _own_token(user, token_id)
    if token.revoked_at is not None:
        return False
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _audit("api_token.revoked", token, user, request)
    return True


@transaction.atomic
def rotate_service_token(*, user, token_id: int, request=None) -> tuple[ApiToken, str]:
    """A new secret for a service token (the old one stops at once); its account,
    and so its place on deployments' teams, stays."""
    if not is_admin(user):
        raise NotAllowed("Only admins rotate service tokens.")
    token = _own_token(user, token_id)
    if token.kind != ApiToken.Kind.SERVICE or token.revoked_at is not None:
        raise RunError("Only a live service token can be rotated.")
    secret = _new_secret()
    token.token_hash, token.prefix = hash_secret(secret), secret[:12]
    token.save(update_fields=["token_hash", "prefix"])
    _audit("api_token.rotated", token, user, request)
    return token, secret


def authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret (with its user), or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_secret(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    return token


def touch(token: ApiToken, request) -> None:
    """Record that the token was used (at most once a minute per token)."""
    now = timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < TOUCH_SECONDS:
        return
    try:
        address = str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        address = None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=address)
    token.last_used_at, token.last_used_ip = now, address
