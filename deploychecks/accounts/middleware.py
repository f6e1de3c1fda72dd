from channels.db import database_sync_to_async
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser

from deploychecks.accounts.sessions import renew, session_expired


class SessionLifetimeMiddleware:
    """Log out a session that has outlived SESSION_ABSOLUTE_SECONDS since login,
    and renew the idle timeout of the others (`sessions.renew`).

    Sits after the authentication and message middleware; the request goes on as
    anonymous, so LoginRequiredMiddleware sends it to the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            if session_expired(request.session):
                logout(request)
                messages.info(
                    request, "Your session reached its maximum length. Please log in again."
                )
            else:
                renew(request.session)
        return self.get_response(request)


class WebsocketSessionLifetime:
    """The same rule for websockets: an expired session connects as anonymous.

    Wrap it inside channels' AuthMiddlewareStack, which has already put the
    session and the user in the scope.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session = scope.get("session")
        user = scope.get("user")
        if (
            session is not None
            and user is not None
            and user.is_authenticated
            and await database_sync_to_async(session_expired)(session)
        ):
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)
