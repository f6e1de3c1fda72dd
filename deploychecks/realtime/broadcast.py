"""One way out to the browsers: `send_to_deployment`, always after commit.

Message shapes are declared here so consumer and senders agree. Fragments are
rendered once per broadcast (not once per viewer), in an editable and a
read-only variant, and serialized to the final websocket text here, once: each
consumer only picks the text its user may have and forwards it as is.
"""

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
from bisect import bisect_left
from contextlib import contextmanager
from typing import NotRequired, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from deploychecks.core.commit import after_commit


class RunEvent(TypedDict):
    type: str  # "run.event" -> consumer method run_event
    seq: int
    kind: str
    resync: bool
    text_edit: str  # the websocket text for users who may edit ...
    text_read: str  # ... and for read-only users
    allowed: list[int]  # who may watch now, sorted (see `is_allowed`)


class PresenceEvent(TypedDict):
    type: str  # "presence.changed"


class ReminderNotice(TypedDict):
    """A reminder toast or "refresh the notification centre" (reminders.live).

    Outside the seq stream: the centre is re-read from the database on every
    notice and on reconnect, so a lost notice costs nothing but the toast.
    """

    type: str  # "reminder.notice" -> consumer method reminder_notice
    text: str  # the websocket text: {"type": "toast", ...} or {"type": "reminders"}
    allowed: list[int]  # sorted, as in RunEvent
    # If given, only these users' views show it (a mention's toast); the others,
    # still allowed, just skip it.
    only: NotRequired[list[int]]


class SessionCheck(TypedDict):
    """ "Check your session" to every socket of one user (realtime.session_watch).

    Rare: sent on logout, and when the user's row changes (password,
    deactivation). Through the user's own group, never the deployments'.
    """

    type: str  # "session.check" -> consumer method session_check
    ended: str  # digest of the one session that has just ended; "" = every socket checks


def run_event(
    *, seq: int, kind: str, allowed, html_edit: str = "", html_read: str = "", resync: bool = False
) -> RunEvent:
    """A run event whose two websocket texts are serialized once, here.

    With hundreds of viewers per process, a `json.dumps` per viewer was a
    measurable part of the fan-out (bench/fanout.py).
    """

    def text(html: str) -> str:
        return json.dumps(
            {"type": "event", "seq": seq, "kind": kind, "resync": resync, "html": html}
        )

    text_read = text(html_read)
    return {
        "type": "run.event",
        "seq": seq,
        "kind": kind,
        "resync": resync,
        "text_edit": text_read if html_edit == html_read else text(html_edit),
        "text_read": text_read,
        "allowed": sorted(allowed),
    }


def is_allowed(event: RunEvent, user_id: int) -> bool:
    """Whether `user_id` is in the event's sorted `allowed` list (binary search).

    Every consumer asks this for every event; scanning the list would cost
    O(participants) per viewer.
    """
    allowed = event["allowed"]
    i = bisect_left(allowed, user_id)
    return i < len(allowed) and allowed[i] == user_id


def group_name(deployment_id: int) -> str:
    return f"deployment-{deployment_id}"


def user_group_name(user_id: int) -> str:
    return f"user-{user_id}"


def send_to_deployment(deployment_id: int, message: dict) -> None:
    group_send(group_name(deployment_id), message)


def group_send(group: str, message: dict) -> None:
    """Send to a channel-layer group from synchronous code.

    Inside `held_broadcasts` (an HTTP request), the message waits for the end
    of the block, and is then queued without waiting; otherwise it is sent
    now, and this returns once it is (or raises).
    """
    held = getattr(_held, "messages", None)
    if held is not None:
        held.append((group, message))
    else:
        _send_now(group, message)


_held = threading.local()
logger = logging.getLogger("deploychecks.realtime")


@contextmanager
def held_broadcasts():
    """Hold the group sends made in this block; at its end, queue them, in order.

    `HoldBroadcastsMiddleware` wraps each request in it. The broadcast of a
    tick then starts when the tick's response is ready, and the request does
    not wait for it: fanning out to the sockets of this process runs on the
    server's event loop, holding the interpreter, so a request that waited
    for its broadcast (or sent it from inside the view) made the person who
    ticked wait for every viewer. The messages are built (rendered) at commit
    as before; only the sending moves. The view's thread runs the whole
    synchronous part of the request, so a thread-local list is per request.
    """
    outer = getattr(_held, "messages", None)
    _held.messages = messages = []
    try:
        yield
    finally:
        _held.messages = outer
        if outer is not None:  # nested: the outer block sends them
            outer.extend(messages)
        else:
            for group, message in messages:
                _send_now(group, message, wait=False)


def _send_now(group: str, message: dict, wait: bool = True) -> None:
    """With Redis, through this process's sender thread (`_Sender`); with the
    in-memory layer, on the server's own event loop, as `async_to_sync` does.
    """
    layer = get_channel_layer()
    if type(layer).__module__.startswith("channels_redis"):
        _sender.send(layer, group, message, wait=wait)
    else:
        # The in-memory layer's queues belong to the server's loop, and are
        # not safe to touch from another thread's loop.
        async_to_sync(layer.group_send)(group, message)


class _Sender:
    """One thread per process with an event loop of its own, for group sends.

    `async_to_sync` from a request's thread runs the send on the server's
    event loop, which is also the loop that fans broadcasts out to the local
    sockets: the tick's request waited behind a whole fan-out (bench/fanout.py:
    the tick's server time grew with the viewers). From a thread with no loop
    (a Celery task, a test) it made a new loop, and so a new Redis connection,
    for every send. Here sends go through one queue to a loop that does
    nothing else: they keep their order and share one connection pool.
    """

    TIMEOUT = 10

    def __init__(self):
        self.lock = threading.Lock()
        self.loop = self.queue = self.pid = None

    def send(self, layer, group: str, message: dict, *, wait: bool) -> None:
        """Queue a send; with `wait`, return once Redis has it (or raise)."""
        loop = self._running_loop()
        done = concurrent.futures.Future() if wait else None
        loop.call_soon_threadsafe(self.queue.put_nowait, (layer, group, message, done))
        if done is not None:
            done.result(timeout=self.TIMEOUT)

    async def _drain(self) -> None:
        while True:
            layer, group, message, done = await self.queue.get()
            try:
                await layer.group_send(group, message)
            except Exception as exc:
                if done is None and isinstance(exc, OSError | RedisError):
                    # Redis unreachable: one line per message, no traceback. The
                    # pages resync when their sockets come back.
                    logger.warning("broadcast to %s failed: %s", group, exc)
                elif done is None:
                    logger.exception("broadcast to %s failed", group)
                else:
                    done.set_exception(exc)
            else:
                if done is not None:
                    done.set_result(None)

    def _running_loop(self):
        with self.lock:
            if self.loop is None or self.pid != os.getpid():  # first use, or a forked worker
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run():
                    asyncio.set_event_loop(loop)
                    self.queue = asyncio.Queue()
                    loop.create_task(self._drain())
                    ready.set()
                    loop.run_forever()

                threading.Thread(target=run, name="channel-layer-sender", daemon=True).start()
                ready.wait()
                self.loop, self.pid = loop, os.getpid()
            return self.loop


_sender = _Sender()


def broadcast_on_commit(deployment_id: int, build_message) -> None:
    """Build (render) and send the message only once the transaction has committed.

    A failure (Redis down) is logged, never raised: the change is saved, and
    open pages resync when their socket comes back.
    """

    def send():
        send_to_deployment(deployment_id, build_message())

    after_commit(send, f"broadcast to deployment {deployment_id}")
