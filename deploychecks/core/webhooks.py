"""The one sender of signed webhooks, and the rules every outbound webhook URL obeys.

Reminders, go/no-go verdicts and the subscriptions of deploychecks.webhooks send
through `send()` (or `post()`, which also returns the start of the answer). It
signs by the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`), and
also with the older, deprecated `X-Deploychecks-Signature` header so receivers
written against it keep working. The id is the caller's delivery key, the same on
every attempt of one delivery, so a receiver can drop repeats.

A webhook URL is typed by a person and fetched by our worker from inside our
network, so it is a way to reach what only the server can reach (server-side
request forgery). A URL is therefore checked when it is set (`check_url`) and
again when it is sent: the host is resolved once, every address it resolves to
must be public, and the connection goes to one of those very addresses (with
the name kept for the Host header and TLS), so a DNS answer that changes
between the check and the connect cannot redirect the request. Hosts named in
WEBHOOK_ALLOWED_HOSTS skip the address check (local receivers in development
and tests). Redirects are never followed. This module imports no app of ours.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  the format's marker, not a secret
# Standard Webhooks asks for secrets of 24 to 64 random bytes.
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
# Named so the refusal says what they are; both are also link-local / unique-local.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata address",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata address",
}
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
ALLOWED_HINT = "webhooks may only go to public addresses (or hosts named in WEBHOOK_ALLOWED_HOSTS)"
# The start of a receiver's answer, kept for delivery logs; the rest is not read.
ANSWER_BYTES = 1024


class WebhookError(Exception):
    """A webhook that was not delivered; `message` is meant for people."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class WebhookRefused(WebhookError):
    """The URL or the secret is not acceptable: nothing was (or would be) sent."""


class WebhookFailed(WebhookError):
    """The receiver could not be reached, was too slow, or did not answer 2xx.

    `status` and `excerpt` are the receiver's answer when it gave one (a non-2xx).
    """

    def __init__(self, message: str, *, status: int | None = None, excerpt: str = ""):
        super().__init__(message)
        self.status = status
        self.excerpt = excerpt


@dataclass(frozen=True)
class Answer:
    """A receiver's 2xx answer: its status and the start of its body (for logs)."""

    status: int
    excerpt: str


# --- Secrets ---------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(secret: str, *, legacy_allowed: bool = False) -> str | None:
    """Why `secret` cannot sign webhooks, or None when it can.

    New secrets must be whsec_ + base64 of 24-64 bytes. `legacy_allowed` accepts
    any other non-empty text too: secrets set before the Standard Webhooks form
    keep signing (their UTF-8 bytes are the key), so an upgrade breaks no receiver.
    """
    if not secret:
        return "A webhook needs a signing secret."
    if not secret.startswith(SECRET_PREFIX):
        if legacy_allowed:
            return None
        return (
            f"The signing secret must be in the Standard Webhooks form: {SECRET_PREFIX} followed "
            f"by base64 of {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} random bytes."
        )
    try:
        key = _decode_key(secret)
    except binascii.Error:
        return f"The signing secret after {SECRET_PREFIX} is not valid base64."
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        return (
            f"The signing secret must decode to {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes; "
            f"it decodes to {len(key)}."
        )
    return None


def _decode_key(secret: str) -> bytes:
    encoded = secret[len(SECRET_PREFIX) :]
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def _signing_key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        return _decode_key(secret)
    return secret.encode()


def signed_headers(secret: str, *, delivery_id: str, timestamp: int, body: bytes) -> dict:
    """The signature headers of one request: Standard Webhooks' and the deprecated ones.

    The deprecated `X-Deploychecks-Signature` is HMAC-SHA256 keyed with the secret
    exactly as configured (the whole whsec_… text), over "{timestamp}.{body}".
    """
    problem = secret_problem(secret, legacy_allowed=True)
    if problem:
        raise WebhookRefused(problem)
    standard = Webhook(_signing_key(secret)).sign(
        msg_id=delivery_id, timestamp=datetime.fromtimestamp(timestamp, UTC), data=body.decode()
    )
    legacy = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
        "X-Deploychecks-Delivery": delivery_id,
        "X-Deploychecks-Timestamp": str(timestamp),
        "X-Deploychecks-Signature": "sha256=" + legacy.hexdigest(),
    }


# --- Which URLs may be called ----------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    allowed: bool


def _parse(url: str, allowed_hosts) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused("The webhook URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookRefused("The webhook URL must start with https:// or http://.")
    if not parts.hostname:
        raise WebhookRefused("The webhook URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("The webhook URL must not contain a user name or password.")
    host = parts.hostname.lower()
    allowed = {h.strip().strip("[]").lower() for h in allowed_hosts if h.strip()}
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return _Target(parts.scheme, host, port or default_port, path, host in allowed)


def forbidden_reason(address: str) -> str | None:
    """Why a webhook must not go to this IP address, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in METADATA_ADDRESSES:
        return METADATA_ADDRESSES[ip]
    if ip.version == 6:
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and any(ip in prefix for prefix in NAT64_PREFIXES):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return forbidden_reason(str(embedded))
    for kind, test in (
        ("an unspecified address", ip.is_unspecified),
        ("a loopback address", ip.is_loopback),
        ("a link-local address", ip.is_link_local),
        ("a multicast address", ip.is_multicast),
        ("a private address", ip.is_private),
    ):
        if test:
            return kind
    if not ip.is_global:
        return "a non-public address"
    return None


def _refusal(target: _Target, address: str, reason: str) -> WebhookRefused:
    shown = target.host if target.host == address else f"{target.host} ({address})"
    return WebhookRefused(f"The webhook host {shown} is {reason}; {ALLOWED_HINT}.")


def literal_url_problem(url: str, allowed_hosts) -> str | None:
    """What is wrong with `url` that is visible without a DNS lookup, or None.

    For start-up checks: scheme, host, credentials, and an IP-literal host that is
    not public. Names are resolved and checked when the webhook is sent.
    """
    try:
        target = _parse(url, allowed_hosts)
        if not target.allowed:
            reason = _literal_reason(target.host)
            if reason:
                raise _refusal(target, target.host, reason)
    except WebhookRefused as exc:
        return exc.message
    return None


def _literal_reason(host: str) -> str | None:
    try:
        return forbidden_reason(host)
    except ValueError:
        return None  # a name, not an address


def _resolve(target: _Target) -> list[tuple]:
    """(family, sockaddr) of every address of the target, each checked unless allowed."""
    try:
        answers = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookFailed(f"webhook unreachable: cannot resolve {target.host} ({exc})") from None
    addresses = []
    for family, _type, _proto, _name, sockaddr in answers:
        if not target.allowed:
            reason = forbidden_reason(sockaddr[0])
            if reason:
                raise _refusal(target, sockaddr[0], reason)
        addresses.append((family, sockaddr))
    if not addresses:
        raise WebhookFailed(f"webhook unreachable: {target.host} has no address")
    return addresses


def check_url(url: str) -> None:
    """Refuse (WebhookRefused) a URL a webhook may not be set to; called when it is set.

    The host must resolve, and to public addresses only, unless it is named in
    WEBHOOK_ALLOWED_HOSTS. `send` checks again, since DNS answers change.
    """
    target = _parse(url, settings.WEBHOOK_ALLOWED_HOSTS)
    if target.allowed:
        return
    try:
        _resolve(target)
    except WebhookFailed:
        raise WebhookRefused(
            f"The webhook host {target.host} could not be resolved; check the URL."
        ) from None


# --- Sending ---------------------------------------------------------------------------


def send(url: str, body: bytes, *, secret: str, delivery_id: str, user_agent: str) -> int:
    """POST `body` (UTF-8 JSON) to `url`, signed; return the 2xx status (see `post`)."""
    return post(url, body, secret=secret, delivery_id=delivery_id, user_agent=user_agent).status


def post(url: str, body: bytes, *, secret: str, delivery_id: str, user_agent: str) -> Answer:
    """POST `body` (UTF-8 JSON) to `url`, signed; return the 2xx answer.

    Raises WebhookRefused when the URL or secret is not acceptable (nothing is
    sent) and WebhookFailed when the receiver is unreachable, answers anything
    but 2xx (redirects included: they are not followed) or takes longer than
    REMINDER_WEBHOOK_TIMEOUT_SECONDS in all. The answer's first ANSWER_BYTES
    are read, for delivery logs (`Answer.excerpt`, `WebhookFailed.excerpt`).
    """
    timeout = settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS
    target = _parse(url, settings.WEBHOOK_ALLOWED_HOSTS)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        **signed_headers(secret, delivery_id=delivery_id, timestamp=int(time.time()), body=body),
    }
    deadline = time.monotonic() + timeout
    addresses = _resolve(target)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, addresses, deadline)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        with _Watchdog(connection, deadline):
            answer = connection.getresponse()
            excerpt = answer.read(ANSWER_BYTES).decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        if time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            raise WebhookFailed(f"webhook timed out after {timeout:g} s") from None
        raise WebhookFailed(f"webhook unreachable: {_reason(exc)}") from None
    finally:
        connection.close()
    if 300 <= answer.status < 400:
        raise WebhookFailed(
            f"HTTP {answer.status} from the webhook (redirects are not followed)",
            status=answer.status,
            excerpt=excerpt,
        )
    if not 200 <= answer.status < 300:
        raise WebhookFailed(
            f"HTTP {answer.status} from the webhook", status=answer.status, excerpt=excerpt
        )
    return Answer(answer.status, excerpt)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _connect(addresses: list[tuple], deadline: float) -> socket.socket:
    """A TCP connection to the first checked address that answers before the deadline."""
    last_error: OSError = TimeoutError("timed out")
    for family, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(remaining)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        return sock
    raise last_error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to addresses resolved and checked beforehand; the Host header keeps the name."""

    def __init__(self, host: str, port: int, addresses: list[tuple], deadline: float):
        super().__init__(host, port)
        self.addresses = addresses
        self.deadline = deadline

    def connect(self):
        self.sock = _connect(self.addresses, self.deadline)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS the same way; the certificate is verified for the name, sent as SNI."""

    default_port = http.client.HTTPS_PORT

    def connect(self):
        sock = _connect(self.addresses, self.deadline)
        # Built per connection so SSL_CERT_FILE is honoured as the process has it now.
        context = ssl.create_default_context()
        try:
            self.sock = context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


class _Watchdog:
    """Cuts the connection at the deadline: a socket timeout bounds each read, not the
    whole answer, and a receiver that trickles bytes must not hold a dispatcher longer
    than the timeout (the delivery lease is sized on it)."""

    def __init__(self, connection: http.client.HTTPConnection, deadline: float):
        self.connection = connection
        self.timer = threading.Timer(max(deadline - time.monotonic(), 0), self._cut)
        self.timer.daemon = True

    def _cut(self):
        sock = self.connection.sock
        if sock is not None:
            # The plain socket's shutdown: SSLSocket's own would tear down TLS state
            # under the reading thread. It may already be closed: nothing to cut.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
