"""A session's idle timeout and absolute lifetime.

The idle timeout is Django's SESSION_COOKIE_AGE, counted from the session's
last save; `renew` saves it again at most once per SESSION_RENEW_SECONDS
(rather than SESSION_SAVE_EVERY_REQUEST's write on every request). The
absolute lifetime is counted from login, whatever the activity, so a stolen or
forgotten session cannot be kept alive forever by a page that polls.
"""

import time

from django.conf import settings

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
