"""Refuse an evidence upload by its Content-Length, before anything reads its body.

Django reads a whole multipart body before any view runs (the CSRF check and
RefuseNulMiddleware read the form in `process_view`), so a 2 GB "screenshot"
would be received, spooled to disk and parsed only to be refused by
services._check_file. This middleware runs before every `process_view`: a POST
to the "Add evidence" form announcing more than EVIDENCE_MAX_BYTES plus room
for the multipart envelope is answered 413 at once, its body unread. Who may
not add evidence to the item is refused as the view would (404, 403) first, so
the answer tells an outsider nothing. Anonymous requests pass on to the login
redirect. The proxy in front should still cap bodies (README, "Evidence").
"""

from django.conf import settings
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

from deploychecks.core.errors import NoAccess, RunError
from deploychecks.evidence import services
from deploychecks.evidence.content import size_label

# The form's other fields (URL, title, note, CSRF token) and the multipart
# boundaries and part headers: a few KB at most.
ENVELOPE_BYTES = 64 * 1024


def _announced_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def too_large_message(length: int) -> str:
    return (
        f"This upload is {size_label(length)}; evidence files can be at most "
        f"{size_label(settings.EVIDENCE_MAX_BYTES)}. Nothing was read or saved. "
        "Add a smaller excerpt or a link instead."
    )


class RefuseOversizedEvidenceMiddleware:
    """413 for an evidence upload whose Content-Length is over the limit (see above)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = _announced_length(request)
        if (
            request.method != "POST"
            or length <= settings.EVIDENCE_MAX_BYTES + ENVELOPE_BYTES
            or not request.user.is_authenticated
        ):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.view_name != "evidence:add":
            return self.get_response(request)
        try:
            services.locked_item_check(request.user, match.kwargs["pk"], match.kwargs["item_id"])
        except NoAccess:
            raise Http404("No such item.") from None
        except RunError as exc:
            return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
        message = too_large_message(length)
        if request.headers.get("HX-Request"):
            html = render_to_string("core/refused.html#notice", {"message": message})
            response = HttpResponse(html, status=413)
            # Nothing to swap: the form keeps what was chosen; static/js/app.js
            # shows the notice in its banner.
            response["HX-Reswap"] = "none"
            response["X-Input-Refused"] = "too-large"
        else:
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response
