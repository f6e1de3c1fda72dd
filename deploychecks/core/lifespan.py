"""ASGI lifespan: starts the embedded scheduler inside the web process.

Embedded mode has no Redis, so no Celery beat or worker: the web process runs
the beat schedule itself. It must run in the server's event loop, because the
in-memory channel layer only reaches websockets of its own process and loop.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings

from deploychecks.core.scheduler import own_periods, run_beat_schedule_once

logger = logging.getLogger("deploychecks.scheduler")


async def _scheduler_loop(interval: float, names: list[str] | None = None) -> None:
    logger.info("embedded scheduler running %s every %.2f s", ", ".join(names or ["all"]), interval)
    while True:
        try:
            await sync_to_async(run_beat_schedule_once, thread_sensitive=True)(names)
        except Exception:  # keep the loop alive; the next tick retries
            logger.exception("embedded scheduler tick failed")
        await asyncio.sleep(interval)


def _start_scheduler() -> list[asyncio.Task]:
    """One loop for the schedule every SCHEDULER_INTERVAL_SECONDS, and one per entry
    that must run more often (the reminder dispatcher under REMINDER_TIME_SCALE)."""
    own = own_periods()
    rest = [name for name in settings.CELERY_BEAT_SCHEDULE if name not in own]
    loops = [_scheduler_loop(settings.SCHEDULER_INTERVAL_SECONDS, rest)]
    loops += [_scheduler_loop(period, [name]) for name, period in own.items()]
    return [asyncio.create_task(loop) for loop in loops]


def with_lifespan(app):
    async def application(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        tasks = []
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if settings.EMBEDDED_SCHEDULER:
                    tasks = _start_scheduler()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in tasks:
                    task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application
