"""`GET /api/v1/deployments/<id>/gate?for=…&wait=N` as a long poll that holds no thread.

Every other HTTP request runs in a thread of its own from start to end
(core/asgi_handler.py); a pipeline waiting ten minutes on a gate would hold
one (and its database connection) all that time. This ASGI app sits in front
of Django's handler and takes only the requests it fully understands (a GET
of that path with a valid `for`, a `wait` of 1 to API_GATE_WAIT_MAX_SECONDS,
a bearer token); anything else goes on to Django, whose API view answers it,
errors included. It authenticates, rate-limits and checks access with the
same functions as the API (in a worker thread), answers at once if the gate is
open (or can no longer open), and otherwise waits on the deployment's
GateWatch (api/watch.py) with no thread at all, until the gate opens, the
time is up, or the client goes away.
"""

import asyncio
import re
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse

from deploychecks.api import present, problems
from deploychecks.api.auth import RateLimited, deployment_for, need, sign_in
from deploychecks.api.models import Scope
from deploychecks.api.watch import Waiter, watch_for
from deploychecks.core.bearer import scope_bearer
from deploychecks.core.errors import RunError
from deploychecks.runs.models import Deployment

PATH_RE = re.compile(r"^/api/v1/deployments/(?P<pk>[0-9]{1,18})/gate$")


def wants_long_poll(scope) -> tuple[int, str, int] | None:
    """(deployment id, target, seconds) for a request this app serves, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    match = PATH_RE.match(scope["path"])
    if match is None:
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if set(query) - {"for", "wait"} or any(len(values) != 1 for values in query.values()):
        return None
    target, wait = query.get("for", [""])[0], query.get("wait", ["0"])[0]
    if target not in present.GATES or not wait.isdecimal() or len(wait) > 6:
        return None
    seconds = int(wait)
    if not 1 <= seconds <= settings.API_GATE_WAIT_MAX_SECONDS:
        return None
    if not scope_bearer(scope):
        return None
    return int(match["pk"]), target, seconds


def _first_look(scope, deployment_id: int, target: str):
    """Sign in, check the scope and the deployment, judge the gate (a worker thread).

    Returns (response, None) when the request is answered now, else (None, token id).
    """
    request = ASGIRequest(scope, _EmptyBody())
    try:
        token = sign_in(request, scope_bearer(scope))
        if token is None:
            return _unauthorized(), None
        need(request, Scope.READ)
        deployment, _ = deployment_for(request, deployment_id)
    except RateLimited as exc:
        return _rate_limited(exc), None
    except RunError as exc:
        return problems.from_run_error(exc), None
    unmet, final = present.gate_unmet(deployment, target)
    if final or not unmet:
        return _json(present.gate_answer(deployment, target, (unmet, final)), request), None
    return None, (token.pk, request.rate_allowance)


def _last_look(deployment_id: int, target: str, waited: float) -> JsonResponse:
    from_db = Deployment.objects.filter(pk=deployment_id).first()
    if from_db is None:
        return problems.problem(404, "not-found", "No such deployment.")
    return _json(present.gate_answer(from_db, target, waited=waited))


first_look = database_sync_to_async(_first_look, thread_sensitive=False)
last_look = database_sync_to_async(_last_look, thread_sensitive=False)


class _EmptyBody:
    def read(self, *args):
        return b""

    def close(self):
        pass


def _json(answer: dict, request=None, allowance=None) -> JsonResponse:
    response = JsonResponse(answer)
    allowance = allowance or getattr(request, "rate_allowance", None)
    if allowance is not None:
        for name, value in allowance.headers().items():
            response[name] = value
    return response


def _unauthorized() -> JsonResponse:
    return problems.problem(
        401,
        "unauthorized",
        "Send a valid token: “Authorization: Bearer dct_…” (it may be wrong, revoked or expired).",
        headers={"WWW-Authenticate": 'Bearer realm="deploychecks"'},
    )


def _rate_limited(exc: RateLimited) -> JsonResponse:
    return problems.problem(
        429,
        "rate-limited",
        f"This token made more than {exc.allowance.limit} requests this minute; "
        f"retry in {exc.allowance.reset_seconds} s.",
        headers=exc.allowance.headers(),
    )


async def _send(send, response) -> None:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
    response.headers.setdefault(
        "Content-Security-Policy",
        "; ".join(f"{d} {s}".strip() for d, s in settings.CONTENT_SECURITY_POLICY.items()),
    )
    headers = [(b"content-length", str(len(response.content)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


async def serve(scope, receive, send, deployment_id: int, target: str, seconds: int) -> None:
    started = time.monotonic()
    response, found = await first_look(scope, deployment_id, target)
    if response is not None:
        await _send(send, response)
        return
    token_id, allowance = found
    waiter = Waiter(target, token_id)
    watch = watch_for(deployment_id)
    await watch.add(waiter)
    disconnected = asyncio.ensure_future(_disconnect(receive))
    try:
        done, _ = await asyncio.wait(
            {waiter.future, disconnected},
            timeout=max(0.0, seconds - (time.monotonic() - started)),
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        watch.discard(waiter)
        disconnected.cancel()
    if disconnected in done:
        return
    waited = time.monotonic() - started
    if waiter.future.done():
        kind, answer = waiter.future.result()
        if kind == "answer":
            response = _json({**answer, "waited_seconds": round(waited, 3)}, allowance=allowance)
        elif kind == "token":
            response = _unauthorized()
        else:
            response = problems.problem(404, "not-found", "No such deployment.")
    else:
        response = await last_look(deployment_id, target, waited)
        for name, value in allowance.headers().items():
            response[name] = value
    await _send(send, response)


async def _disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def with_gate_long_poll(http_app):
    """Wrap the HTTP application: long polls of the gate here, the rest to `http_app`."""

    async def app(scope, receive, send):
        wanted = wants_long_poll(scope)
        if wanted is None:
            return await http_app(scope, receive, send)
        return await serve(scope, receive, send, *wanted)

    return app
