import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deploychecks.celery import app

logger = logging.getLogger("deploychecks.health")
_TIMEOUT_SECONDS = 3


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


async def _channel_layer_round_trip(layer) -> dict:
    # A bounded wait: a health check that hangs on a stuck Redis reports nothing.
    async with asyncio.timeout(_TIMEOUT_SECONDS):
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
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _check_database,
        "channel_layer": _check_channel_layer,
        "broker": _check_broker,
    }
    status, down = {}, []
    for name, check in checks.items():
        try:
            status[name] = check()
        except Exception as exc:  # report every kind of failure as "down"
            logger.warning("health check %s failed: %s", name, exc)
            status[name] = f"down: {type(exc).__name__}"
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
    """500 in the site's layout, rendered without the request: no context processor
    runs, so nothing reads the session, the user or the database, which may be
    what just failed."""
    return HttpResponseServerError(loader.get_template("500.html").render({"show_nav": True}))
