"""The websocket of a deployment page.

It only forwards: the database is the truth, a message is a hint. Each message
carries the deployment's sequence number; the page resyncs from the database
when it sees a gap or reconnects.
"""

import asyncio
import json
import logging
import weakref

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from deploychecks.realtime.broadcast import group_name, is_allowed
from deploychecks.realtime.hub import hub_for
from deploychecks.realtime.session_watch import SESSION_ENDED, SessionWatchMixin
from deploychecks.runs import access, presence
from deploychecks.runs.models import Deployment

logger = logging.getLogger("deploychecks.realtime")

# Presence announcements are coalesced per process: a burst of N joins would
# otherwise send N group messages to N sockets (N² websocket messages, and N²
# presence fetches by the pages). 500 viewers joining took minutes to settle.
PRESENCE_DELAY = 0.25  # seconds
PRESENCE_TEXT = json.dumps({"type": "presence"})
# Deployments with an announcement scheduled, per event loop (tests run many loops).
_presence_pending: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[int]]" = (
    weakref.WeakKeyDictionary()
)
_presence_tasks: set[asyncio.Task] = set()


def announce_presence(channel_layer, deployment_id: int) -> None:
    """Send one "presence changed" to the deployment's group within PRESENCE_DELAY.

    Every change in that window shares the one send; the pages then fetch the
    current list from the database, so nothing is lost by coalescing.
    """
    loop = asyncio.get_running_loop()
    pending = _presence_pending.setdefault(loop, set())
    if deployment_id in pending:
        return
    pending.add(deployment_id)

    async def send():
        try:
            await asyncio.sleep(PRESENCE_DELAY)
        finally:
            pending.discard(deployment_id)
        try:
            await channel_layer.group_send(group_name(deployment_id), {"type": "presence.changed"})
        except Exception:  # Redis gone: the next join (reconnect) announces it again
            logger.warning("deployment %s: could not announce presence", deployment_id)

    task = loop.create_task(send())
    _presence_tasks.add(task)
    task.add_done_callback(_presence_tasks.discard)


class DeploymentConsumer(SessionWatchMixin, AsyncWebsocketConsumer):
    """A run page's socket. It closes within seconds of its session ending
    (logout, password change, expiry, deactivation: realtime/session_watch.py)."""

    # Channels 4 runs close_old_connections() in a thread before every handler:
    # one hop through the single sync thread per viewer per broadcast, most of
    # the fan-out's cost (bench/fanout.py). These handlers never touch the
    # database, so they skip it; the others keep it, and their database work
    # goes through database_sync_to_async, which cleans up by itself.
    db_free_handlers = frozenset({"run.event", "presence.changed"})

    async def dispatch(self, message):
        if message["type"] in self.db_free_handlers:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self):
        self.user = self.scope.get("user")
        self.deployment_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.group = group_name(self.deployment_id)
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=SESSION_ENDED)
            return
        self.role, seq = await database_sync_to_async(self._role)()
        if self.role is None:
            await self.close(code=4404)
            return
        self.editable = access.can_edit(self.role)
        # Before joining the hub: from then on a broadcast may reach this
        # consumer at any await, and nothing may be sent before accept().
        await self.watch_session()
        # The process's hub is the group member and hands broadcasts to us.
        self.hub = hub_for(self.channel_layer, self.deployment_id)
        # The seq read before joining: where the hub's ordering of events starts.
        await self.hub.join(self, seq)
        await self.accept()
        await database_sync_to_async(presence.join)(
            self.deployment_id, self.user, self.channel_name
        )
        await self._announce_presence()

    def _role(self) -> tuple[str | None, int | None]:
        deployment = Deployment.objects.filter(pk=self.deployment_id).first()
        if deployment is None:
            return None, None
        return access.role_of(self.user, deployment), deployment.seq

    async def disconnect(self, code):
        if getattr(self, "role", None) is None:
            return
        await self.hub.leave(self)
        await self.unwatch_session()
        await database_sync_to_async(presence.leave)(self.channel_name)
        await self._announce_presence()

    async def _announce_presence(self):
        announce_presence(self.channel_layer, self.deployment_id)

    async def receive(self, text_data=None, bytes_data=None):
        # The page only sends heartbeats; changes go through HTTP and the services.
        try:
            message = json.loads(text_data or "{}")
        except ValueError:
            return
        if message.get("type") == "ping":
            await database_sync_to_async(presence.heartbeat)(self.channel_name)
            await self.send(text_data=json.dumps({"type": "pong"}))

    async def run_event(self, event):
        # Re-check access with the list computed at broadcast time (once per
        # event, not once per viewer): removed participants stop receiving.
        # This runs once per viewer per event, so it does as little as it can:
        # a binary search, and a text serialized by the sender.
        if not is_allowed(event, self.user.pk):
            await self.close(code=4403)
            return
        await self.send(text_data=event["text_edit"] if self.editable else event["text_read"])

    async def reminder_notice(self, event):
        # Same re-check as run_event; the text is the same for every viewer.
        # Reminders are rare, so a plain membership test is fast enough.
        if self.user.pk not in event["allowed"]:
            await self.close(code=4403)
            return
        if "only" in event and self.user.pk not in event["only"]:
            return
        await self.send(text_data=event["text"])

    async def presence_changed(self, event):
        await self.send(text_data=PRESENCE_TEXT)
