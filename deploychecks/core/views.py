import asyncio
import logging
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deploychecks.celery import app
from deploychecks.core import commit, database

logger = logging.getLogger("deploychecks.health")
# Each component must answer within this; they are checked at the same time, so
# /healthz answers within about this long whatever is down or hanging.
CHECK_TIMEOUT_SECONDS = 2.0


def _check_database() -> str:
    if database.guard.down:
        raise database.DatabaseDown("unreachable; probing every 0.5 s")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        if database.is_unavailable(exc):
            database.guard.failed(exc)
        raise
    finally:
        connection.close()  # this check's own thread: give the connection back
    return "ok"


def _check_cache() -> str:
    check = getattr(cache, "check", None)
    if check is None:
        return "ok (in-process)"
    check()
    return "ok"


async def _channel_layer_round_trip(layer) -> dict:
    # A bounded wait: a health check that hangs on a stuck Redis reports nothing.
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        return await layer.receive(channel)


def _check_channel_layer() -> str:
    layer = get_channel_layer()
    if settings.EMBEDDED:
        return "ok (in-memory)"
    # A round trip through Redis: send to a fresh channel and read it back.
    message = async_to_sync(_channel_layer_round_trip)(layer)
    if message.get("type") != "health.ping":
        raise RuntimeError("channel layer returned the wrong message")
    return "ok"


def _check_broker() -> str:
    if settings.EMBEDDED:
        return "ok (embedded scheduler)"
    with app.connection_for_write() as conn:
        # No retry: one retry waits 2 s before it tries again.
        conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)
    return "ok"


# Checked in threads of their own, at the same time.
THREADED_CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Each component by name: PostgreSQL, and Redis in its three uses (cache,
    channel layer, Celery broker). They are checked at the same time, and one
    that has not answered within CHECK_TIMEOUT_SECONDS is down. The channel
    layer is checked from the request's own thread, on the server's event loop:
    channels-redis refuses receives from two event loops."""
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    executor = ThreadPoolExecutor(max_workers=len(THREADED_CHECKS), thread_name_prefix="healthz")
    futures = {name: executor.submit(check) for name, check in THREADED_CHECKS.items()}
    here = Future()
    try:
        here.set_result(_check_channel_layer())
    except Exception as exc:  # reported below, as the threads' failures are
        here.set_exception(exc)
    futures = {**futures, "channel_layer": here}
    wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
    executor.shutdown(wait=False, cancel_futures=True)
    status, down = {}, []
    for name in ("database", "cache", "channel_layer", "broker"):
        future = futures[name]
        if not future.done():
            status[name] = f"down: no answer within {CHECK_TIMEOUT_SECONDS:g} s"
        elif (exc := future.exception()) is not None:
            logger.warning("health check %s failed: %s", name, exc)
            status[name] = f"down: {type(exc).__name__}"
        else:
            status[name] = future.result()
            continue
        down.append(name)
    body = {"status": "ok" if not down else "down", "checks": status}
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)


def home(request):
    return redirect("history:list")


# --- Error pages (handler403/404/500 in deploychecks/urls.py) -----------------------------


def permission_denied(request, exception):
    """403 in the site's layout: the reason the refusal gave, and a way back."""
    context = {
        "reason": getattr(exception, "message", "") or str(exception),
        "back_url": getattr(exception, "back_url", "") or reverse("home"),
        "back_label": getattr(exception, "back_label", "") or "Back to the deployments",
    }
    return render(request, "403.html", context, status=403)


def page_not_found(request, exception):
    """404 in the site's layout. Says nothing about what was asked for: a deployment
    someone may not see answers exactly like one that does not exist."""
    return render(request, "404.html", status=404)


def server_error(request):
    """handler500: an unreachable database is a 503 (`database.unavailable_response`);
    anything else the 500 page in the site's layout, rendered without the request:
    no context processor runs, so nothing reads the session, the user or the
    database, which may be what just failed.

    Django calls this while it handles the exception, from any middleware or
    the view, so `sys.exc_info()` still holds it.
    """
    exc = sys.exc_info()[1]
    if database.is_unavailable(exc):
        database.guard.failed(exc)
        return database.unavailable_response(request, saved=commit.committed_in_request())
    return HttpResponseServerError(loader.get_template("500.html").render({"show_nav": True}))
