"""Waiting for a deployment's gate without a thread: one watcher per deployment
per process, woken by the deployment's broadcasts.

Every change that can open a gate (an item, a sub-check, a sign-off, a status,
a verdict) is broadcast to the deployment's channel-layer group after commit.
The process's hub (realtime.hub) is already that group's one member and hands
each message to its local consumers; a watcher joins it like a run page's
socket, and on any run event re-judges the gate once, in a worker thread, for
every pipeline waiting on it in this process, then answers those whose gate
opened. So 500 waiting pipelines cost one judgement per change, not 500, and
no thread while nothing happens. The watcher also re-judges every
API_GATE_RECHECK_SECONDS (the monitoring window ends by the clock; the channel
layer is at-most-once) and at the end of the monitoring window.
"""

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from deploychecks.api import present
from deploychecks.api.models import ApiToken
from deploychecks.realtime.hub import hub_for
from deploychecks.runs.models import Deployment

logger = logging.getLogger("deploychecks.api")


@dataclass(eq=False)
class Waiter:
    target: str
    token_id: int
    future: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class Judgement:
    answers: dict  # target -> gate_answer dict (waited_seconds 0)
    open_targets: set  # targets that are open or final
    live_tokens: set
    next_check: float | None  # seconds until the monitoring window ends, if it matters


def judge(deployment_id: int, targets: set[str], token_ids: set[int]) -> Judgement | None:
    """One look at the database for every waiter of a deployment (in a thread)."""
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        return None
    answers, open_targets = {}, set()
    for target in targets:
        unmet, final = present.gate_unmet(deployment, target)
        answers[target] = present.gate_answer(deployment, target, (unmet, final))
        if final or not unmet:
            open_targets.add(target)
    now = timezone.now()
    live = set(
        ApiToken.objects.filter(
            pk__in=token_ids, revoked_at__isnull=True, expires_at__gt=now
        ).values_list("pk", flat=True)
    )
    next_check = None
    if deployment.go_live_at and deployment.monitoring_hours:
        ends = deployment.go_live_at + timezone.timedelta(hours=deployment.monitoring_hours)
        if ends > now:
            next_check = (ends - now).total_seconds() + 0.05
    return Judgement(answers, open_targets, live, next_check)


judge_in_thread = database_sync_to_async(judge, thread_sensitive=False)


class GateWatch:
    """The waiters of one deployment in this process, and the hub member that wakes them."""

    def __init__(self, deployment_id: int, registry: dict):
        self.deployment_id = deployment_id
        self.registry = registry
        self.waiters: set[Waiter] = set()
        self.changed = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.hub = None

    # --- What the hub calls, as it would a run page's consumer -------------------

    async def dispatch(self, message) -> None:
        if message.get("type") == "run.event":
            self.changed.set()

    async def close(self, code=None) -> None:
        """The channel layer failed: keep judging on the clock alone."""
        self.hub = None
        self.changed.set()

    # --- Waiting ---------------------------------------------------------------------

    async def add(self, waiter: Waiter) -> None:
        self.waiters.add(waiter)
        await self._join_hub()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())
        # A change may have landed between the waiter's first look and now.
        self.changed.set()

    def discard(self, waiter: Waiter) -> None:
        self.waiters.discard(waiter)

    async def _run(self) -> None:
        while True:
            try:
                await self._serve()
            finally:
                await self._leave()
            if not self.waiters:  # else one came while leaving: serve it too
                return

    async def _join_hub(self) -> None:
        if self.hub is not None:
            return
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            self.hub = hub_for(layer, self.deployment_id)
            await self.hub.join(self)
        except Exception:
            logger.exception("gate watch %s: joining the hub failed", self.deployment_id)
            self.hub = None

    async def _serve(self) -> None:
        await self._join_hub()
        interval = settings.API_GATE_RECHECK_SECONDS
        timeout = interval
        while self.waiters:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout)
            self.changed.clear()
            waiters = list(self.waiters)
            if not waiters:
                break
            try:
                found = await judge_in_thread(
                    self.deployment_id,
                    {w.target for w in waiters},
                    {w.token_id for w in waiters},
                )
            except Exception:
                logger.exception("gate watch %s: judging failed", self.deployment_id)
                timeout = interval
                continue
            self._answer(waiters, found)
            timeout = min(interval, found.next_check or interval) if found else interval

    def _answer(self, waiters: list[Waiter], found: Judgement | None) -> None:
        for waiter in waiters:
            if waiter.future.done():
                self.waiters.discard(waiter)
                continue
            if found is None:
                waiter.future.set_result(("gone", None))
            elif waiter.token_id not in found.live_tokens:
                waiter.future.set_result(("token", None))
            elif waiter.target in found.open_targets:
                waiter.future.set_result(("answer", found.answers[waiter.target]))
            else:
                continue
            self.waiters.discard(waiter)

    async def _leave(self) -> None:
        if self.registry.get(self.deployment_id) is self and not self.waiters:
            del self.registry[self.deployment_id]
        if self.hub is not None and not self.waiters:
            hub, self.hub = self.hub, None
            with contextlib.suppress(Exception):
                await hub.leave(self)


_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, GateWatch]]" = (
    weakref.WeakKeyDictionary()
)


def watch_for(deployment_id: int) -> GateWatch:
    registry = _watches.setdefault(asyncio.get_running_loop(), {})
    watch = registry.get(deployment_id)
    if watch is None:
        watch = registry[deployment_id] = GateWatch(deployment_id, registry)
    return watch
