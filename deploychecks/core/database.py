"""What a request gets while PostgreSQL is out of reach, and how the app comes back.

After a restart of the database (issue 13) every request hung for the whole
pool timeout and answered 500 for half a minute after the database was back:
the pool kept its dead connections and retried new ones with a backoff of up
to 10 s. Now:

- the pool checks each connection on checkout (`CONN_HEALTH_CHECKS`) and waits
  at most DATABASE_POOL_TIMEOUT (1.5 s) for one, so a request fails fast;
- a request that fails because the database cannot be reached is answered 503
  with a page that needs no database (`unavailable_response`), with Retry-After;
- the first such failure starts a probe thread (`guard`): while a direct
  connection fails, every request is answered 503 at once, without waiting on
  the pool; as soon as one succeeds, the pool is replaced by a fresh one (its
  connections from before are dead) and requests go through again.

A failure that is only a busy pool (PoolTimeout while the probe connects fine)
changes nothing: the pool is not drained under load.
"""

import logging
import threading
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpResponse
from django.template.loader import render_to_string
from psycopg_pool import PoolClosed, PoolTimeout

from deploychecks.core import commit

logger = logging.getLogger("deploychecks.database")

# How often the probe tries while the database is down.
PROBE_INTERVAL_SECONDS = 0.5
# What a client is told to wait before trying again.
RETRY_AFTER_SECONDS = 5
# SQLSTATEs that mean "not now" rather than "not this query": admin/crash
# shutdown, cannot connect now (starting up), too many connections.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}


class DatabaseDown(Exception):
    """The database is known to be down (the probe has not reached it yet)."""


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database cannot be reached, rather than refusing a query.

    Django wraps the driver's errors (its own OperationalError with the
    driver's as `__cause__`). A lost or refused connection has no SQLSTATE or
    one of class 08; a deadlock or a statement timeout is an OperationalError
    too, but the database answered, so it is not an outage.
    """
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, PoolTimeout | PoolClosed | psycopg.InterfaceError):
            return True
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            return state is None or state.startswith("08") or state in _UNAVAILABLE_STATES
        exc, seen = exc.__cause__, seen + 1
    return False


def _cause_is(exc: BaseException | None, kind) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__
    return False


class DatabaseGuard:
    """Per process: whether the database is known to be down, and the probe that
    finds out when it is back."""

    def __init__(self, alias: str = DEFAULT_DB_ALIAS):
        self.alias = alias
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.probing = False
        self.broken_connections = False

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """A request could not reach the database: probe it, in the background."""
        with self.lock:
            if not _cause_is(exc, PoolTimeout | PoolClosed):
                self.broken_connections = True
            if self.probing:
                return
            self.probing = True
        threading.Thread(target=self._probe_until_up, name="database-probe", daemon=True).start()

    def _probe_until_up(self) -> None:
        try:
            while not self.probe():
                with self.lock:
                    if self.down_since is None:
                        self.down_since = time.monotonic()
                        logger.error("database unreachable: answering 503 until it is back")
                time.sleep(PROBE_INTERVAL_SECONDS)
            self._recovered()
        finally:
            with self.lock:
                self.probing = False

    def probe(self) -> bool:
        """One direct connection (not from the pool) and `SELECT 1`."""
        params = connections[self.alias].get_connection_params()
        params.setdefault("connect_timeout", 2)
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error as exc:
            logger.debug("database probe failed: %s", exc)
            return False

    def _recovered(self) -> None:
        wrapper = connections[self.alias]
        with self.lock:
            was_down, broken = self.down_since, self.broken_connections
        if was_down is not None:
            # Requests are still answered 503 at the door, so nobody is using
            # the pool: close it. The next request starts a fresh one. The old
            # pool's connections are dead, and its attempts to replace them wait
            # out a backoff of up to 10 s (that was the slow recovery).
            wrapper.close_pool()
        elif broken and (pool := wrapper.pool) is not None:
            # A short blip (dead connections, the database already back): replace
            # the idle connections now instead of one checkout at a time.
            pool.drain()
        with self.lock:
            self.down_since, self.broken_connections = None, False
        if was_down is not None:
            logger.warning("database reachable again after %.1f s", time.monotonic() - was_down)


guard = DatabaseGuard()


def unavailable_response(request, *, saved: bool = False) -> HttpResponse:
    """503 with the site's layout, rendered without a single query.

    No request context: the context processors would load the session and the
    user from the database. htmx requests get only the message (static/js/app.js
    shows it, as it does for every answer marked `X-Unavailable`); a page load
    gets the whole page.

    `saved`: this request's change was committed before the database went away
    (only its answer could not be rendered). That is not an error: 200, saying
    so, and `HX-Reswap: none`, so the page keeps what the person did.
    """
    template = "core/unavailable.html#notice" if request.headers.get("HX-Request") else None
    html = render_to_string(template or "core/unavailable.html", {"saved": saved})
    response = HttpResponse(html, status=200 if saved else 503)
    response["X-Unavailable"] = "saved" if saved else "not-saved"
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    if saved:
        response["HX-Reswap"] = "none"
    return response


class DatabaseAvailabilityMiddleware:
    """While the database is known to be down, answer 503 at once.

    After WhiteNoise (static files need no database, and the 503 page needs its
    stylesheet) and before the session. /healthz still runs: it reports each
    component itself.
    """

    EXEMPT = ("/healthz",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        commit.begin_request()
        if guard.down and request.path not in self.EXEMPT:
            return unavailable_response(request)
        return self.get_response(request)
