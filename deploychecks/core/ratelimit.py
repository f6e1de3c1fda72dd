"""Requests (or readings) per client per minute: a fixed window counted in the
cache (Redis in production, so every web and worker process shares the count;
the process's memory when embedded).

One atomic INCR per request. A fixed window lets a client make up to twice
its limit across a window's edge; that is the price of one round trip, and
the limit is a guard against a runaway client, not a billing meter. The API's
tokens (api/ratelimit.py) and the ingest tokens (gonogo) both count here.
"""

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger("deploychecks.ratelimit")
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_seconds)
        return headers


def take(key: str, limit: int, *, cost: int = 1, now: float | None = None) -> Allowance:
    """Count `cost` units of the client `key` names against its `limit` per minute.

    A refused request gives its units back, so a batch too big for what is
    left does not also use up the rest of the window. If the cache is
    unreachable the request is let through (and logged): the limit protects
    the service, and refusing every client because Redis blinked would be the
    worse failure.
    """
    window, reset = window_at(time.time() if now is None else now)
    counter = counter_key(key, window)
    try:
        used = _count(counter, cost)
        if used > limit:
            _count(counter, -cost)
            return Allowance(False, limit, max(0, limit - used + cost), reset)
    except Exception:
        logger.exception("rate limit of %s not counted", key)
        return Allowance(True, limit, limit, reset)
    return Allowance(True, limit, max(0, limit - used), reset)


def window_at(now: float) -> tuple[int, int]:
    """(the rate-limit window `now` falls in, whole seconds to its end, at least 1)."""
    window = int(now // WINDOW_SECONDS)
    return window, max(1, int((window + 1) * WINDOW_SECONDS - now))


def counter_key(key: str, window: int) -> str:
    """The cache key counting `key`'s units in the minute `window` (time // 60)."""
    return f"rate:{key}:{window}"


def _count(counter: str, amount: int) -> int:
    if hasattr(cache, "count"):  # Redis (core.cache): one round trip
        return cache.count(counter, amount, WINDOW_SECONDS * 2)
    cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return cache.incr(counter, amount)
    except ValueError:  # expired between the two calls
        cache.set(counter, amount, timeout=WINDOW_SECONDS * 2)
        return amount
