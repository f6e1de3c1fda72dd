"""One channel-layer member per deployment per process, fanning out locally.

Without this, every open socket is its own member of the deployment's group,
and each broadcast wakes every consumer's channel-layer receive loop: a queue,
a lock and several asyncio tasks per viewer, which was most of the time until
the last viewer had an update (bench/fanout.py). Here a process joins the
group once per deployment, with a channel of its own, and hands each message
to its local consumers' `dispatch`, one small task each. The consumers still
decide per message what to send (and re-check access), exactly as before.

Hubs live per event loop: each test runs its own loop.
"""

import asyncio
import contextvars
import logging
import weakref

from deploychecks.realtime.broadcast import group_name

logger = logging.getLogger("deploychecks.realtime")

# channels-redis drops group members older than group_expiry (24 h by default);
# a hub refreshes its membership well before that.
REFRESH_SECONDS = 3600
# Deliveries between two yields to the event loop (see Hub._read).
YIELD_EVERY = 16
# How long a run event waits for the ones numbered before it (see InOrder).
HOLD_SECONDS = 0.5


class InOrder:
    """Puts one deployment's run events back in `seq` order before they fan out.

    Every change takes its seq under the deployment's row lock, but sends its
    broadcast after commit, from its own request thread, Celery task or web
    process: two changes a few milliseconds apart reach Redis in either order.
    A page that sees seq 12 before 11 takes it as a gap and refetches its
    whole checklist (static/js/run.js), and with hundreds of viewers that
    refetch is the costly part (issue 13: many people ticking at once).

    An event that comes early waits, at most HOLD_SECONDS, for the ones
    before it; when they come, all leave in order. A seq that never comes
    (its broadcast failed) lets the waiting ones go when the time is up: the
    pages see the gap, as before. A resync event (the page refetches anyway)
    and messages without a seq (presence, reminders) never wait.
    """

    def __init__(self, seq: int | None = None, hold: float = HOLD_SECONDS):
        """`seq`: the deployment's seq when the hub joined its group, if known
        (else the first event sets where the sequence stands)."""
        self.hold = hold
        self.next: int | None = None if seq is None else seq + 1  # the seq expected next
        self.waiting: dict[int, tuple[float, dict]] = {}  # seq -> (arrived, message)

    def push(self, message: dict, now: float) -> list[dict]:
        """The messages that may leave now, in order (possibly none)."""
        seq = message.get("seq") if message.get("type") == "run.event" else None
        if seq is None:
            return [message]
        if self.next is None:
            self.next = seq
        if seq < self.next:  # late (its wait was over): the pages drop it
            return [message]
        if seq == self.next or message.get("resync"):
            out = [m for s, (_, m) in sorted(self.waiting.items()) if s < seq]
            self.waiting = {s: w for s, w in self.waiting.items() if s > seq}
            out.append(message)
            self.next = seq + 1
            return out + self._release_consecutive()
        self.waiting[seq] = (now, message)
        return []

    def deadline(self) -> float | None:
        if not self.waiting:
            return None
        return min(arrived for arrived, _ in self.waiting.values()) + self.hold

    def expire(self, now: float) -> list[dict]:
        """Give up on the missing seqs once the oldest waiting event's time is up."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return []
        out = [m for _, (_, m) in sorted(self.waiting.items())]
        self.next = max(self.waiting) + 1
        self.waiting = {}
        return out

    def _release_consecutive(self) -> list[dict]:
        out = []
        while self.next in self.waiting:
            out.append(self.waiting.pop(self.next)[1])
            self.next += 1
        return out


class Hub:
    def __init__(self, layer, deployment_id: int, registry: dict):
        self.layer = layer
        self.deployment_id = deployment_id
        self.group = group_name(deployment_id)
        self.registry = registry
        self.consumers = weakref.WeakSet()  # a crashed consumer drops out by itself
        self.lock = asyncio.Lock()
        self.channel = None
        self.tasks: list[asyncio.Task] = []
        self.pending: set[asyncio.Task] = set()

    async def join(self, consumer, seq: int | None = None) -> None:
        """`seq`: the deployment's seq as the consumer read it before joining."""
        async with self.lock:
            self.consumers.add(consumer)
            if self.channel is None or any(task.done() for task in self.tasks):
                for task in self.tasks:
                    task.cancel()
                self.channel = await self.layer.new_channel()
                await self.layer.group_add(self.group, self.channel)
                loop = asyncio.get_running_loop()
                self.tasks = [
                    loop.create_task(self._read(InOrder(seq))),
                    loop.create_task(self._refresh()),
                ]
                self.registry[self.deployment_id] = self

    async def leave(self, consumer) -> None:
        async with self.lock:
            self.consumers.discard(consumer)
            if self.consumers or self.channel is None:
                return
            for task in self.tasks:
                task.cancel()
            try:
                await self.layer.group_discard(self.group, self.channel)
            except Exception:
                # Redis gone: the membership expires by itself (group_expiry),
                # and the socket's own clean-up (presence) must still run.
                logger.warning("deployment %s: could not leave the group", self.deployment_id)
            self.channel, self.tasks = None, []
            if self.registry.get(self.deployment_id) is self:
                del self.registry[self.deployment_id]

    async def _read(self, order: "InOrder") -> None:
        channel = self.channel
        loop = asyncio.get_running_loop()
        receiving = None  # the pending receive; never cancelled while events wait
        try:
            while True:
                if receiving is None:
                    receiving = loop.create_task(self.layer.receive(channel))
                deadline = order.deadline()
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait({receiving}, timeout=timeout)
                if not done:
                    await self._fan_out(loop, order.expire(loop.time()))
                    continue
                received, receiving = receiving, None
                try:
                    message = received.result()
                except Exception:
                    # The layer failed (Redis gone?). Close the local sockets: the
                    # pages reconnect, resync from the database, and the first join
                    # starts a new reader.
                    logger.exception(
                        "deployment %s: channel layer receive failed", self.deployment_id
                    )
                    for consumer in list(self.consumers):
                        loop.create_task(consumer.close(code=1011))
                    return
                await self._fan_out(loop, order.push(message, loop.time()))
        finally:
            if receiving is not None:
                receiving.cancel()

    async def _fan_out(self, loop, messages: list[dict]) -> None:
        for message in messages:
            for n, consumer in enumerate(list(self.consumers), start=1):
                self._start(loop, self._deliver(consumer, message))
                if n % YIELD_EVERY == 0:
                    # Let the loop's other work in between (the tick's own
                    # HTTP response, which waits for it): hundreds of sockets
                    # take tens of milliseconds. Order is kept: the next
                    # message waits for this one.
                    await asyncio.sleep(0)

    def _start(self, loop, coro) -> None:
        """Run `coro` now, up to its first real wait; only then give it a task.

        A send normally completes without waiting (uvicorn writes to the
        socket's buffer), so most deliveries need no task at all, which saves
        a task per viewer per broadcast. A client that does not read fills its
        buffer; its send then waits in a task of its own and holds up no one.
        (What Python 3.12's eager tasks do.)

        Like a task, each delivery runs in a copy of the context: asgiref keeps
        "this task is inside sync_to_async" in a context variable, and a
        delivery that waits on `sync_to_async` (the consumer's
        close_old_connections) would otherwise leave it set in the reader's
        context, refusing every later delivery with "Single thread executor
        already being used".
        """
        context = contextvars.copy_context()
        try:
            waiting_on = context.run(coro.send, None)
        except StopIteration:
            return
        task = loop.create_task(_finish(coro, waiting_on), context=context)
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _deliver(self, consumer, message) -> None:
        try:
            await consumer.dispatch(message)
        except Exception:
            # Typically a socket that has just gone; stop sending to it (its
            # disconnect would remove it too).
            self.consumers.discard(consumer)
            logger.info(
                "deployment %s: dropped a socket after a failed %s",
                self.deployment_id,
                message.get("type"),
                exc_info=True,
            )

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            await self.layer.group_add(self.group, self.channel)


async def _finish(coro, waiting_on) -> None:
    """Go on with a coroutine that suspended on `waiting_on` (a future, or None
    for a bare yield), as the task that would have started it would have."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                # As asyncio.Task does with a future a coroutine yielded.
                waiting_on._asyncio_future_blocking = False
                await waiting_on
        except BaseException as exc:  # the coroutine decides what to do with it
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Hub]]" = (
    weakref.WeakKeyDictionary()
)


def hub_for(layer, deployment_id: int) -> Hub:
    registry = _hubs.setdefault(asyncio.get_running_loop(), {})
    hub = registry.get(deployment_id)
    if hub is None:
        hub = registry[deployment_id] = Hub(layer, deployment_id, registry)
    return hub
