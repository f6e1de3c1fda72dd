"""The ingest's door in front of Django: a flood is refused before it costs a thread.

Each HTTP request Django serves takes a thread of its own and goes through the
whole middleware chain (core/asgi_handler.py): a few milliseconds of the
process's one interpreter even for a request that is then refused. A token
sending 200 readings/s would spend that on the web process whatever the view
answered, and people's pages would wait for the interpreter. This ASGI app sits
in front of Django for `POST /api/deployments/<id>/readings[/batch]` only:

- a token whose readings this minute already reached INGEST_RATE_LIMIT_PER_MINUTE
  is answered 429 here, on the event loop, after one Redis GET (the counter
  core.ratelimit keeps; the view still counts each reading exactly);
- at most INGEST_MAX_CONCURRENT ingest requests of this process are in Django
  at once; the next wait up to WAIT_SECONDS on the loop (no thread), then get
  503 with `Retry-After: 1`. People's requests never wait for this door.

Everything else about the request (token, body, values) is the view's job.
"""

import asyncio
import json
import logging
import re
import time
import weakref

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from deploychecks.core import ratelimit
from deploychecks.core.bearer import scope_bearer
from deploychecks.gonogo.tokens import hash_token

logger = logging.getLogger("deploychecks.gonogo")

PATH_RE = re.compile(r"^/api/deployments/[0-9]{1,18}/readings(/batch)?$")
WAIT_SECONDS = 0.25

# One semaphore per event loop (the server has one; tests make several).
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[int, asyncio.Semaphore]]" = (
    weakref.WeakKeyDictionary()
)


def rate_key(secret: str) -> str:
    """The rate-limit key of an ingest token, from its secret (as the view counts it)."""
    return f"ingest:{hash_token(secret)[:16]}"


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    size = settings.INGEST_MAX_CONCURRENT
    current = _slots.get(loop)
    if current is None or current[0] != size:
        current = _slots[loop] = (size, asyncio.Semaphore(size))
    return current[1]


def _used(key: str, window: int) -> int:
    """Readings counted for the token `key` names in `window` (one Redis GET)."""
    return int(cache.get(ratelimit.counter_key(key, window)) or 0)


# Per process: rate key -> the window in which that token used up its limit. A
# counter never falls back below the limit within its window (a refused request
# gives back only what it took), so the rest of the window is refused from here,
# without Redis or a thread: a flood past its limit costs the loop alone.
_exhausted: dict[str, int] = {}


async def _refuse(send, status: int, detail: str, headers: dict) -> None:
    titles = {429: "Too many requests", 503: "Service unavailable"}
    body = json.dumps(
        {
            "type": "about:blank",
            "title": titles[status],
            "status": status,
            "detail": detail,
            "error": detail,
        }
    ).encode()
    raw = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def with_ingest_gate(http_app):
    """Wrap the HTTP application: ingest requests pass this door, the rest go straight on."""

    async def app(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not PATH_RE.match(scope["path"]):
            return await http_app(scope, receive, send)
        secret = scope_bearer(scope)
        if secret:
            limit = settings.INGEST_RATE_LIMIT_PER_MINUTE
            key, (window, reset) = rate_key(secret), ratelimit.window_at(time.time())
            used = limit if _exhausted.get(key) == window else 0
            if not used:
                try:
                    used = await sync_to_async(_used, thread_sensitive=False)(key, window)
                except Exception:  # Redis down: the view lets it through too
                    logger.exception("ingest gate: rate limit not read")
            if used >= limit:
                if len(_exhausted) > 10_000:
                    _exhausted.clear()
                _exhausted[key] = window
                return await _refuse(
                    send,
                    429,
                    f"This token may send {limit} readings a minute; none are left in this "
                    f"one. Retry in {reset} s.",
                    {
                        "Retry-After": str(reset),
                        "RateLimit-Limit": str(limit),
                        "RateLimit-Remaining": "0",
                        "RateLimit-Reset": str(reset),
                    },
                )
        semaphore = _semaphore()
        try:
            await asyncio.wait_for(semaphore.acquire(), WAIT_SECONDS)
        except TimeoutError:
            return await _refuse(
                send,
                503,
                "Too many readings are being stored right now; retry in a second.",
                {"Retry-After": "1"},
            )
        try:
            return await http_app(scope, receive, send)
        finally:
            semaphore.release()

    return app
