"""Password confirmation for what must be done by the person themselves (signing
off, overriding a gate): a timestamp in the session, good for REAUTH_WINDOW_SECONDS."""

import logging

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, authenticate
from django.utils import timezone

logger = logging.getLogger(__name__)

# Session key: when the signed-in user last confirmed their password (epoch seconds).
REAUTH_SESSION_KEY = "reauth_at"


def reauthenticate(request, password: str) -> bool:
    """Check the signed-in user's password; on success remember the time in the session."""
    user = request.user
    if not password or not user.is_authenticated:
        return False
    # Through authenticate() so that login throttling (django-axes) sees failures too.
    confirmed = authenticate(request, username=user.get_username(), password=password)
    if confirmed is None or confirmed.pk != user.pk:
        logger.warning("Password confirmation failed for %s", user.get_username())
        return False
    # authenticate() may have upgraded the stored hash (a new hasher or more
    # iterations): keep this session's copy in step, or its next request would
    # be logged out. Not update_session_auth_hash(): cycling the key would log
    # out the user's other tabs and the resync requests already on their way.
    request.session[HASH_SESSION_KEY] = confirmed.get_session_auth_hash()
    request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()
    # Saved now, before the change commits and its broadcast makes this
    # user's pages fetch with the same session.
    request.session.save()
    return True


def reauth_is_fresh(request) -> bool:
    session = getattr(request, "session", None)
    confirmed_at = session.get(REAUTH_SESSION_KEY) if session is not None else None
    if not isinstance(confirmed_at, int | float):
        return False
    return timezone.now().timestamp() - confirmed_at <= settings.REAUTH_WINDOW_SECONDS
