"""Close a websocket within seconds of its session ending.

A socket is authenticated once, at its handshake, and makes no HTTP requests
afterwards, so nothing on the HTTP side would ever end it. How a socket learns
that its session has ended:

- logout: `user_logged_out` sends "session.check" naming the ended session (a
  digest of its key) to the user's group; that session's sockets close at once;
- password change, deactivation, any other save of the user's row: "session.check"
  without a name, after commit; each socket of that user re-validates its own
  session (`accounts.sessions.session_end`: a new password changes the auth hash
  stored in every other session, deactivation fails the backend's check);
- idle or absolute expiry: each socket has a timer at its session's end, and
  re-validates then (the browser's requests may have renewed it meanwhile);
- and a re-validation every RECHECK_SECONDS whatever happens, for a message the
  at-most-once channel layer lost or a change made without signals (`update()`).

The group `user-<id>` carries only these rare messages; the deployment's
broadcasts keep their own path (realtime/hub.py). A socket whose session has
ended closes with SESSION_ENDED. The page then asks over HTTP whether its browser
is still logged in (after a password change Django keeps the changing session
under a new key): it reconnects, or says the session has ended.
"""

import asyncio
import hashlib
import hmac
import logging
import random
import time

from channels.db import database_sync_to_async
from django.db import transaction

from deploychecks.accounts.sessions import estimated_end, session_end
from deploychecks.realtime.broadcast import SessionCheck, group_send, user_group_name

logger = logging.getLogger("deploychecks.realtime")

SESSION_ENDED = 4401  # the close code, as for a socket that was never logged in
RECHECK_SECONDS = 15 * 60
RETRY_SECONDS = 30  # after a check that failed (database unreachable)
# A timer at the session's end fires this much later, so the check finds it over.
END_MARGIN_SECONDS = 0.05


def session_digest(session_key: str | None) -> str:
    """What names a session in a message: never the key itself, which is a login."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def ask_user_sockets(user_id: int, ended_session_key: str | None = None) -> None:
    """Tell every socket of `user_id` to close if `ended_session_key` is its
    session, or (without one) to re-validate its session."""
    message: SessionCheck = {"type": "session.check", "ended": session_digest(ended_session_key)}
    group_send(user_group_name(user_id), message)


def on_logout(sender, request, user, **kwargs) -> None:
    """user_logged_out receiver. Django flushes the session after this signal;
    in a request the message leaves with its response (`held_broadcasts`)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        ask_user_sockets(user.pk, session_key)


def on_user_saved(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    """post_save receiver for the user model: a password change or a
    deactivation ends sessions. A login's own save (last_login) does not."""
    if created or raw or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    user_id = instance.pk
    # robust: the change is committed; a channel layer that is down only costs
    # the sockets their prompt close (the periodic re-validation remains).
    transaction.on_commit(lambda: ask_user_sockets(user_id), robust=True)


class SessionWatchMixin:
    """For an AsyncWebsocketConsumer whose socket lives only as long as its session.

    Call `watch_session()` when accepting the socket and `unwatch_session()` in
    `disconnect()`. The "session.check" messages arrive at `session_check`.
    """

    _session_group: str | None = None

    async def watch_session(self) -> None:
        session = self.scope["session"]
        self._session_key = session.session_key
        self._session_digest = session_digest(self._session_key)
        self._session_user_id = self.scope["user"].pk
        self._session_timer: asyncio.TimerHandle | None = None
        self._session_task: asyncio.Task | None = None
        self._session_ending = False
        self._session_group = user_group_name(self._session_user_id)
        await self.channel_layer.group_add(self._session_group, self.channel_name)
        self._check_session_at(estimated_end(session))

    async def unwatch_session(self) -> None:
        group, self._session_group = self._session_group, None
        if group is None:
            return
        if self._session_timer is not None:
            self._session_timer.cancel()
        await self.channel_layer.group_discard(group, self.channel_name)

    async def session_check(self, event: SessionCheck) -> None:
        if self._session_group is None:
            return
        if event["ended"]:
            if hmac.compare_digest(event["ended"], self._session_digest):
                await self._end_socket()
            return
        await self._recheck_session()

    def _check_session_at(self, at: float) -> None:
        """(Re)arm the one timer: at `at`, or sooner for the periodic check."""
        if self._session_group is None:
            return
        if self._session_timer is not None:
            self._session_timer.cancel()
        # Spread the periodic checks of sockets that connected together.
        periodic = RECHECK_SECONDS * random.uniform(0.9, 1.0)  # noqa: S311  not security
        delay = min(max(at - time.time(), 0.0) + END_MARGIN_SECONDS, periodic)
        self._session_timer = asyncio.get_running_loop().call_later(delay, self._start_recheck)

    def _start_recheck(self) -> None:
        self._session_task = asyncio.get_running_loop().create_task(self._recheck_session())

    async def _recheck_session(self) -> None:
        try:
            ends = await database_sync_to_async(session_end)(
                self._session_key, self._session_user_id
            )
        except Exception:
            logger.exception(
                "could not check the session of a socket of user %s", self._session_user_id
            )
            self._check_session_at(time.time() + RETRY_SECONDS)
            return
        if ends is None:
            await self._end_socket()
        else:
            self._check_session_at(ends)

    async def _end_socket(self) -> None:
        if self._session_ending or self._session_group is None:
            return
        self._session_ending = True
        await self.close(code=SESSION_ENDED)
