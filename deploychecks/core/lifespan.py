"""ASGI lifespan: starts the embedded scheduler inside the web process.

Embedded mode has no Redis, so no Celery beat or worker: the web process runs
the beat schedule itself. It must run in the server's event loop, because the
in-memory channel layer only reaches websockets of its own process and loop.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings

from deploychecks.core.scheduler import run_beat_schedule_once

logger = logging.getLogger("deploychecks.scheduler")


async def _scheduler_loop(interval: float) -> None:
    logger.info("embedded scheduler running every %.1f s", interval)
    while True:
        try:
            await sync_to_async(run_beat_schedule_once, thread_sensitive=True)()
        except Exception:  # keep the loop alive; the next tick retries
            logger.exception("embedded scheduler tick failed")
        await asyncio.sleep(interval)


def with_lifespan(app):
    async def application(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        task = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if settings.EMBEDDED_SCHEDULER:
                    task = asyncio.create_task(_scheduler_loop(settings.SCHEDULER_INTERVAL_SECONDS))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if task is not None:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application
