"""Django's Redis cache, for which an unreachable Redis is a miss, not an error.

The cache only ever holds HTML and figures that can be computed again from the
database. Django's RedisCache raises when Redis is down, and a rendered row
cached after commit then turned a saved note into a 500 (issue 13). Here a
failed read is a miss and a failed write is skipped; both are logged (at most
once per LOG_EVERY_SECONDS per process, an outage would flood the log).
`check()` still raises (/healthz uses it), and so do incr, `count` and clear:
a counter cannot be made up. `count` and `claim` are Redis-only helpers
(core.ratelimit, gonogo.ingest), each one round trip.
"""

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("deploychecks.cache")
LOG_EVERY_SECONDS = 10.0
HEALTH_KEY = "healthz"


# When each Redis address last had a failure logged (per process: Django makes
# a cache object per thread, and so per request).
_last_logged: dict[str, float] = {}
_log_lock = threading.Lock()


class TolerantRedisCache(RedisCache):
    def _failed(self, operation: str, exc: Exception) -> None:
        now, where = time.monotonic(), ",".join(self._servers)
        with _log_lock:
            if now - _last_logged.get(where, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
                return
            _last_logged[where] = now
        logger.warning("cache %s failed, going on without the cache: %s", operation, exc)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            self._failed("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as exc:
            self._failed("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as exc:
            self._failed("has_key", exc)
            return False

    def add(self, key, value, timeout=None, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as exc:
            self._failed("add", exc)
            return False

    def set(self, key, value, timeout=None, version=None):
        try:
            super().set(key, value, timeout, version)
        except RedisError as exc:
            self._failed("set", exc)

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as exc:
            self._failed("set_many", exc)
            return list(data)

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as exc:
            self._failed("touch", exc)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as exc:
            self._failed("delete", exc)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except RedisError as exc:
            self._failed("delete_many", exc)

    def count(self, key, amount: int, timeout: int) -> int:
        """Add `amount` to the counter `key` and return its new value, in one
        round trip (INCRBY and EXPIRE in a pipeline); Django's add and incr
        take three. Raises when Redis does: a count cannot be made up."""
        key = self.make_and_validate_key(key)
        pipeline = self._cache.get_client(key, write=True).pipeline()
        pipeline.incrby(key, amount)
        pipeline.expire(key, timeout)
        return pipeline.execute()[0]

    def claim(self, key, seconds: float) -> bool:
        """Whether this call set `key`, which lives `seconds` (to the millisecond;
        Django's add rounds a timeout down to whole seconds, 0.5 s to none)."""
        key = self.make_and_validate_key(key)
        try:
            client = self._cache.get_client(key, write=True)
            return bool(client.set(key, 1, px=max(1, int(seconds * 1000)), nx=True))
        except RedisError as exc:
            self._failed("claim", exc)
            return True

    def check(self) -> None:
        """A write and a read through Redis; raises when either fails."""
        token = str(time.monotonic_ns())
        super().set(HEALTH_KEY, token, 30)
        if super().get(HEALTH_KEY) != token:
            raise RuntimeError("the cache returned another value")
