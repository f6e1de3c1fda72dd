"""X-Forwarded-Proto: believed only from TRUSTED_PROXIES through uvicorn; with
BEHIND_TLS_PROXY (SECURE_PROXY_SSL_HEADER) Django believes it from any peer."""

import io

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

PROXY = "10.0.0.5"


def _through_uvicorn(peer: str) -> ASGIRequest:
    """The request Django builds after uvicorn's proxy middleware, as
    deploychecks.serve configures it (--forwarded-allow-ips TRUSTED_PROXIES)."""
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    scope = {
        "type": "http",
        "scheme": "http",
        "method": "GET",
        "path": "/",
        "root_path": "",
        "query_string": b"",
        "client": (peer, 40000),
        "server": ("deploychecks", 8000),
        "headers": [(b"host", b"deploychecks"), (b"x-forwarded-proto", b"https")],
    }
    async_to_sync(ProxyHeadersMiddleware(app, trusted_hosts=[PROXY]))(scope, None, None)
    return ASGIRequest(seen, io.BytesIO())


def test_uvicorn_takes_the_scheme_only_from_a_trusted_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = None  # BEHIND_TLS_PROXY unset

    assert _through_uvicorn(PROXY).is_secure()
    assert not _through_uvicorn("203.0.113.9").is_secure()


def test_behind_tls_proxy_believes_the_header_from_any_peer(settings):
    # What README says: set BEHIND_TLS_PROXY only when nothing but your proxy
    # (which overwrites the header) can reach the server.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert _through_uvicorn("203.0.113.9").is_secure()
