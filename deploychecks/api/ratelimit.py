"""Requests per token per minute: a fixed window counted in the cache (Redis in
production, so every web process shares the count; the process's memory when
embedded).

One atomic INCR per request. A fixed window lets a client make up to twice
its limit across a window's edge; that is the price of one round trip, and
the limit is a guard against a runaway pipeline, not a billing meter.
"""

import logging
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger("deploychecks.api")
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


def take(token_key: str, limit: int, *, now: float | None = None) -> Allowance:
    """Count one request of the token `token_key` names against its `limit` per minute.

    If the cache is unreachable the request is let through (and logged): the
    limit protects the service, and refusing every pipeline because Redis
    blinked would be the worse failure.
    """
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    reset = max(1, int((window + 1) * WINDOW_SECONDS - now))
    key = f"api-rate:{token_key}:{window}"
    try:
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
            used = 1
    except Exception:
        logger.exception("rate limit of token %s not counted", token_key)
        return Allowance(True, limit, limit, reset)
    return Allowance(used <= limit, limit, max(0, limit - used), reset)
