"""Django's ASGI handler, with each HTTP request in one thread from end to end,
and only a few requests in threads at once."""

import asyncio
import gc
import weakref
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import FileResponse

# What only reads: these wait behind the changes when the process is busy.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestSlots:
    """At most `size` requests in threads at once; changes before reads (FIFO within each).

    One process has one interpreter lock: past a few threads, more requests
    at once add no throughput, only make each slower, hold more memory at the
    same time, and queue in the database pool until its timeout answers 503.
    That is what every open page refetching at once (a status change's resync,
    hundreds of viewers reconnecting) did (issue 13, bench/fanout.py
    --storm-every): a tick waited seconds behind 200 checklist renders, some
    ticks answered 503, and the process's RSS rose by the peak and stayed
    (allocator arenas held by the objects of 200 requests at once). A request
    waiting for a slot waits on the event loop: no thread, no connection.
    """

    def __init__(self, size: int):
        self.free = size
        self.changes: deque[asyncio.Future] = deque()
        self.reads: deque[asyncio.Future] = deque()

    async def acquire(self, change: bool) -> None:
        if self.free > 0 and not self.changes and not self.reads:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        queue = self.changes if change else self.reads
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self.changes, self.reads):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the slot goes straight to it
                    return
        self.free += 1


class ThreadedASGIHandler(ASGIHandler):
    """Run the middleware chain and the view synchronously, in the request's thread.

    Django's own handler runs the chain in async mode: a synchronous
    middleware, each `process_view` and the view then each cross between
    the event loop and the request's thread, about six crossings per request
    here. Every crossing waits for the loop, and the loop is also the one
    fanning broadcasts out to this process's websockets, so a tick's request
    waited for other people's updates several times over (bench/fanout.py).
    All of this project's middleware and views are synchronous: here a
    request crosses once, in and out. Websockets are unaffected (Channels).

    At most settings.WEB_REQUEST_THREADS requests run at once (RequestSlots).

    Once no request has run for settings.WEB_IDLE_GC_SECONDS, the garbage
    collector runs (once per quiet spell). deploychecks/asgi.py makes the
    collector run rarely, for the requests' sake, and it only ever runs on
    allocations: whatever garbage in reference cycles a busy minute left
    (querysets, template contexts) stayed in the process while it was idle,
    tens of megabytes after a refetch storm (issue 13, bench/fanout.py
    --storm-every: the memory probe collected 108,000 objects and 43 MB
    at rest).
    """

    def __init__(self):
        super().__init__()
        self.slot_count = getattr(settings, "WEB_REQUEST_THREADS", 0)
        self.idle_gc_seconds = getattr(settings, "WEB_IDLE_GC_SECONDS", 0)
        self._in_flight = 0
        self._last_request = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        # Futures belong to one event loop (tests run several).
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RequestSlots] = (
            weakref.WeakKeyDictionary()
        )

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def run_get_response(self, request):
        loop = asyncio.get_running_loop()
        self._in_flight += 1
        try:
            if not self.slot_count:
                return await self._run(request)
            slots = self._slots.get(loop)
            if slots is None:
                slots = self._slots[loop] = RequestSlots(self.slot_count)
            await slots.acquire(change=request.method not in READ_METHODS)
            try:
                return await self._run(request)
            finally:
                slots.release()
        finally:
            self._in_flight -= 1
            self._last_request = loop.time()
            # (A timer of a loop that has since closed never fires: tests run several.)
            if self.idle_gc_seconds and (self._idle_timer is None or self._timer_loop.is_closed()):
                self._timer_loop = loop
                self._idle_timer = loop.call_later(
                    self.idle_gc_seconds, self._collect_when_idle, loop
                )

    def _collect_when_idle(self, loop) -> None:
        quiet = loop.time() - self._last_request
        if self._in_flight or quiet < self.idle_gc_seconds:  # not yet: look again later
            wait = self.idle_gc_seconds - (0 if self._in_flight else quiet)
            self._idle_timer = loop.call_later(wait, self._collect_when_idle, loop)
            return
        self._idle_timer = None
        gc.collect()

    async def _run(self, request):
        response = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        response._handler_class = self.__class__
        # As Django's: the server does the chunking of files.
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
