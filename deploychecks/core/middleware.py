import re
import time
import uuid

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (X-Request-ID from a trusted proxy, or a new one).

    The audit log records it, so one user action can be traced across logs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class ServerTimingMiddleware:
    """Add `Server-Timing: app;dur=<ms>`: the time Django spent on the request.

    Outermost in MIDDLEWARE, so it covers every middleware, the view and the
    after-commit broadcast. bench/fanout.py reads it; browsers show it in their
    network panel. One clock read and one header: cheap enough to leave on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.1f}"
        return response


class ContentSecurityPolicyMiddleware:
    """Send settings.CONTENT_SECURITY_POLICY with every response.

    Near the top of MIDDLEWARE, so static files (WhiteNoise), redirects and
    error pages carry it too. A view may set its own header; it is kept.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.policy = "; ".join(
            f"{directive} {sources}".strip()
            for directive, sources in settings.CONTENT_SECURITY_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
