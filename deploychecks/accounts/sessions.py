"""A session's idle timeout and absolute lifetime.

The idle timeout is Django's SESSION_COOKIE_AGE, counted from the session's
last save; `renew` saves it again at most once per SESSION_RENEW_SECONDS
(rather than SESSION_SAVE_EVERY_REQUEST's write on every request). The
absolute lifetime is counted from login, whatever the activity, so a stolen or
forgotten session cannot be kept alive forever by a page that polls.

`session_end` answers the same questions for an open websocket, which makes
no requests of its own (realtime/session_watch.py).
"""

import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    load_backend,
)
from django.utils import timezone
from django.utils.crypto import constant_time_compare

LOGIN_AT_KEY = "_login_at"
RENEWED_AT_KEY = "_renewed_at"


def stamp_login(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: remember when this session was authenticated."""
    if getattr(request, "session", None) is not None:
        request.session[LOGIN_AT_KEY] = request.session[RENEWED_AT_KEY] = int(time.time())


def session_expired(session) -> bool:
    """True once the session is older than SESSION_ABSOLUTE_SECONDS.

    A session without a stamp (made before this existed, or directly in a
    test) is stamped now rather than ended.
    """
    login_at = session.get(LOGIN_AT_KEY)
    now = int(time.time())
    if not isinstance(login_at, int):
        session[LOGIN_AT_KEY] = now
        return False
    return now - login_at > settings.SESSION_ABSOLUTE_SECONDS


def renew(session) -> None:
    """Push the idle timeout back, if the last renewal is SESSION_RENEW_SECONDS old.

    Changing the session makes SessionMiddleware save it with a new expiry
    date and send the cookie again with a new max-age.
    """
    now = int(time.time())
    renewed_at = session.get(RENEWED_AT_KEY)
    if not isinstance(renewed_at, int) or now - renewed_at >= settings.SESSION_RENEW_SECONDS:
        session[RENEWED_AT_KEY] = now


def estimated_end(session) -> float:
    """A Unix time at or before which this loaded session ends, without a query.

    For a socket's first check. The idle end counts from the last renewal:
    the stored expiry is at least that late, since a renewal saves the session
    and any later save pushes it further. The absolute end counts from login.
    A session without those stamps gives "now": ask the database at once.
    """
    now = time.time()
    renewed_at, login_at = session.get(RENEWED_AT_KEY), session.get(LOGIN_AT_KEY)
    if not isinstance(renewed_at, int) or not isinstance(login_at, int):
        return now
    return min(
        renewed_at + settings.SESSION_COOKIE_AGE, login_at + settings.SESSION_ABSOLUTE_SECONDS
    )


def session_end(session_key: str | None, user_id: int) -> float | None:
    """When the session `session_key` of user `user_id` ends (a Unix time), or
    None if it has ended already.

    Ended means what it means for an HTTP request: the session is gone
    (logout), past its idle expiry or its absolute lifetime, belongs to
    someone else, carries an outdated auth hash (the password changed since),
    or its user may no longer log in (deactivated). Unlike
    `django.contrib.auth.get_user` it changes nothing: the next request of
    that browser flushes the session as usual. Sessions live in the database
    (Django's default engine); two queries.
    """
    if not session_key:
        return None
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    row = (
        store_class.get_model_class()
        .objects.filter(session_key=session_key, expire_date__gt=timezone.now())
        .values_list("session_data", "expire_date")
        .first()
    )
    if row is None:
        return None
    data, expire_date = store_class().decode(row[0]), row[1]
    backend_path = data.get(BACKEND_SESSION_KEY)
    if (
        data.get(SESSION_KEY) != str(user_id)
        or backend_path not in settings.AUTHENTICATION_BACKENDS
    ):
        return None
    user = load_backend(backend_path).get_user(user_id)  # None for an inactive user
    session_hash = data.get(HASH_SESSION_KEY)
    if (
        user is None
        or not user.is_active
        or not session_hash
        or not constant_time_compare(session_hash, user.get_session_auth_hash())
    ):
        return None
    ends = expire_date.timestamp()
    login_at = data.get(LOGIN_AT_KEY)
    if isinstance(login_at, int):
        ends = min(ends, login_at + settings.SESSION_ABSOLUTE_SECONDS)
    return ends if ends > time.time() else None
