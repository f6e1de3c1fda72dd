"""Refuse an evidence upload by its Content-Length, before anything reads its body.

Under uvicorn, Django's ASGI handler receives a request's whole body (spooled to
disk past FILE_UPLOAD_MAX_MEMORY_SIZE) before any middleware or view runs, so a
2 GB "screenshot" would be taken in full only to be refused by
services._check_file. This wraps the HTTP application (deploychecks/asgi.py) as
gonogo.ingest_gate does: a POST to the "Add evidence" URL announcing more than
EVIDENCE_MAX_BYTES plus room for the multipart envelope is answered 413 without
calling Django, its body never received. The answer is the same for everyone and
every id (no access check, no database), so it tells an outsider nothing. A
client that announces no length (chunked) is read and checked by the service
after parsing; the proxy in front should cap bodies (README, "Evidence").
"""

import re

from django.conf import settings
from django.template.loader import render_to_string

from deploychecks.core.bearer import scope_header
from deploychecks.evidence.content import size_label

PATH_RE = re.compile(r"^/deployments/\d+/items/\d+/evidence/$")
# The form's other fields (URL, title, note, CSRF token) and the multipart
# boundaries and part headers: a few KB at most.
ENVELOPE_BYTES = 64 * 1024


def too_large_message(length: int) -> str:
    return (
        f"This upload is {size_label(length)}; evidence files can be at most "
        f"{size_label(settings.EVIDENCE_MAX_BYTES)}. Nothing was read or saved. "
        "Add a smaller excerpt or a link instead."
    )


def announced_length(scope) -> int:
    try:
        return int(scope_header(scope, b"content-length") or 0)
    except ValueError:
        return 0


def too_large(scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and PATH_RE.match(scope["path"]) is not None
        and announced_length(scope) > settings.EVIDENCE_MAX_BYTES + ENVELOPE_BYTES
    )


def _response(scope) -> tuple[list[tuple[bytes, bytes]], bytes]:
    message = too_large_message(announced_length(scope))
    headers = [(b"cache-control", b"no-store")]
    if scope_header(scope, b"hx-request"):
        body = render_to_string("core/refused.html#notice", {"message": message}).encode()
        # Nothing to swap: the form keeps what was chosen; static/js/run.js says
        # the notice at the item (app.js's banner elsewhere).
        headers += [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"hx-reswap", b"none"),
            (b"x-input-refused", b"too-large"),
        ]
    else:
        body = message.encode()
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
    # The body the client is still sending is not wanted: close after answering.
    headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    return headers, body


def with_evidence_limit(http_app):
    """`http_app`, with oversized evidence uploads refused before their body is read."""

    async def app(scope, receive, send):
        if not too_large(scope):
            return await http_app(scope, receive, send)
        headers, body = _response(scope)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
