"""The websocket of a deployment page.

It only forwards: the database is the truth, a message is a hint. Each message
carries the deployment's sequence number; the page resyncs from the database
when it sees a gap or reconnects.
"""

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from deploychecks.realtime.broadcast import group_name, send_to_deployment
from deploychecks.runs import access, presence


class DeploymentConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.user = self.scope.get("user")
        self.deployment_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.group = group_name(self.deployment_id)
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.role = await database_sync_to_async(self._role)()
        if self.role is None:
            await self.close(code=4404)
            return
        self.editable = access.can_edit(self.role)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await database_sync_to_async(presence.join)(self.deployment_id, self.user,
                                                    self.channel_name)
        await self._announce_presence()

    def _role(self):
        from deploychecks.runs.models import Deployment

        deployment = Deployment.objects.filter(pk=self.deployment_id).first()
        return access.role_of(self.user, deployment) if deployment else None

    async def disconnect(self, code):
        if getattr(self, "role", None) is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await database_sync_to_async(presence.leave)(self.channel_name)
        await self._announce_presence()

    async def _announce_presence(self):
        await database_sync_to_async(send_to_deployment)(
            self.deployment_id, {"type": "presence.changed"})

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
        if self.user.pk not in event["allowed"]:
            await self.close(code=4403)
            return
        html = event["html_edit"] if self.editable else event["html_read"]
        await self.send(text_data=json.dumps({
            "type": "event", "seq": event["seq"], "kind": event["kind"],
            "resync": event.get("resync", False), "html": html,
        }))

    async def reminder_notice(self, event):
        # Same re-check as run_event; the text is the same for every viewer.
        # Reminders are rare, so a plain membership test is fast enough.
        if self.user.pk not in event["allowed"]:
            await self.close(code=4403)
            return
        await self.send(text_data=event["text"])

    async def presence_changed(self, event):
        await self.send(text_data=json.dumps({"type": "presence"}))
