"""The public status page's websocket: no login, public fragments only.

It joins the deployment's *public* group, which carries nothing but the
rendered public fragment, and never the deployment's own group.
"""

import hmac

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from deploychecks.statuspage.models import StatusPage
from deploychecks.statuspage.services import public_group, token_digest


class PublicStatusConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        token = self.scope["url_route"]["kwargs"]["token"]
        self.digest = token_digest(token)
        self.deployment_id = await database_sync_to_async(self._deployment_id)(token)
        if self.deployment_id is None:
            await self.close(code=4404)
            return
        self.group = public_group(self.deployment_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    @staticmethod
    def _deployment_id(token: str):
        if len(token) > 64:
            return None
        return (
            StatusPage.objects.filter(token=token, enabled=True)
            .values_list("deployment_id", flat=True)
            .first()
        )

    async def disconnect(self, code):
        if getattr(self, "deployment_id", None) is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        # Nothing to say to a public page but "pong".
        if text_data and '"ping"' in text_data:
            await self.send(text_data='{"type": "pong"}')

    async def status_update(self, event):
        # Disabled, or rotated to another token: this URL is dead, say nothing more.
        if not event["digest"] or not hmac.compare_digest(event["digest"], self.digest):
            await self.close(code=4404)
            return
        await self.send(text_data=event["text"])
