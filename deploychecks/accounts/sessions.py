"""A session's absolute lifetime: counted from login, whatever the activity.

The idle timeout is Django's own (SESSION_COOKIE_AGE renewed by every request);
this adds the upper bound, so a stolen or forgotten session cannot be kept
alive forever by a page that polls.
"""

import time

from django.conf import settings

LOGIN_AT_KEY = "_login_at"


def stamp_login(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: remember when this session was authenticated."""
    if getattr(request, "session", None) is not None:
        request.session[LOGIN_AT_KEY] = int(time.time())


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
