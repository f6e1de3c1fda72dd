"""Refuse every request that carries a NUL character, before any view reads it.

PostgreSQL cannot store U+0000 in text (psycopg raises DataError, a 500), and
nobody types one: it comes from pasted binary data or a hostile client. One
middleware looks at everything a view can read (the path, the query string,
form fields and their names, and JSON bodies) so that no
form, service or API schema has to remember, and a new view is covered the day
it is added. Uploaded files' contents are the view's business (the Markdown
import refuses binary files with its own message).

The refusal is a 400 that names the fields, with nothing saved: htmx requests
get a short notice and `HX-Reswap: none` (the form keeps what was typed;
static/js/run.js says the notice at a checklist item, app.js in a banner
elsewhere), JSON clients a problem document
(RFC 9457, as the API's), pages a page. It runs in `process_view`, after the
CSRF check and after LoginRequiredMiddleware, so an anonymous request is sent
to the login page and a forged one refused as before; it answers the same
whatever the URL names, so it tells nobody whether an object exists.
"""

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

NUL = "\x00"
# How JSON writes a NUL inside a string; the only way one gets into valid JSON.
_JSON_ESCAPE = b"\\u0000"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PROBLEM_TYPE = "urn:deploychecks:problem:nul-character"


def _shown(name: str) -> str:
    return name.replace(NUL, "\N{SYMBOL FOR NULL}")


def _in_querydict(querydict, where: str) -> list[str]:
    return [
        f"{where}.{_shown(key)}"
        for key, values in querydict.lists()
        if NUL in key or any(NUL in value for value in values)
    ]


def _in_json(body: bytes) -> list[str]:
    """Where a JSON body holds a NUL (in a key or a string), as "body.a.0.b".

    Bodies without one pass after a substring search (no parsing: readings are
    hot); a body that is not JSON is left to the view, which refuses it itself.
    """
    if _JSON_ESCAPE not in body and b"\x00" not in body:
        return []
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []
    found, stack = [], [("body", data)]
    while stack:  # iterative: a deeply nested body must not exhaust the stack here
        where, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                found.append(where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if NUL in key:
                    found.append(f"{where}.{_shown(key)}")
                stack.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{where}.{index}", item) for index, item in enumerate(value))
    return sorted(found)


def fields_with_nul(request) -> list[str]:
    """Where in the request a NUL character is: "path", "query.q", "form.body",
    "body.note"…; empty when there is none."""
    found = ["path"] if NUL in request.path else []
    found += _in_querydict(request.GET, "query")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return found
    if request.content_type in _FORM_TYPES:
        try:
            found += _in_querydict(request.POST, "form")
        except RequestDataTooBig:
            return found  # the view's own refusal (413, or Django's 400) applies
        # Uploaded files' names: Django's multipart parser drops unprintable
        # characters from them already; their field names are checked here.
        return found + [f"file.{_shown(key)}" for key in request.FILES if NUL in key]
    try:
        body = request.body
    except RequestDataTooBig:
        return found
    return found + _in_json(body)


def _message(fields: list[str]) -> str:
    names = ", ".join(f"“{field.split('.', 1)[-1]}”" for field in fields[:5])
    return (
        f"What you sent contains a NUL character (in {names}), which Deploychecks "
        "cannot store. Nothing was saved. Remove it (it usually comes from pasting "
        "binary data) and send again."
    )


def refused_response(request, fields: list[str]) -> HttpResponse:
    message = _message(fields)
    if request.content_type == "application/json" or request.path.startswith("/api/"):
        response = JsonResponse(
            {
                "type": PROBLEM_TYPE,
                "title": "Bad request",
                "status": 400,
                "detail": message,
                "errors": [
                    {"where": field, "message": "contains a NUL character"} for field in fields
                ],
            },
            status=400,
            content_type="application/problem+json",
        )
    elif request.headers.get("HX-Request"):
        html = render_to_string("core/refused.html#notice", {"message": message})
        response = HttpResponse(html, status=400)
        response["HX-Reswap"] = "none"  # the form keeps what was typed
    else:
        response = render(request, "core/refused.html", {"message": message}, status=400)
    response["X-Input-Refused"] = "nul"
    response["Cache-Control"] = "no-store"
    return response


class RefuseNulMiddleware:
    """400 for any request carrying a NUL character (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        fields = fields_with_nul(request)
        if fields:
            return refused_response(request, fields)
        return None
