"""Webhook test doubles at the machine's edge: a real receiver and a faked network boundary.

`webhook_receiver` starts real HTTP(S) servers on 127.0.0.1 that record what they
get. `network` fakes what lies outside this machine: names resolve as a test
says (socket.getaddrinfo), and a connection to any address that is not loopback
is refused and recorded instead of leaving the machine (socket.socket.connect),
so a test can aim at a "public" address without sending it a packet.
Import the fixtures into a conftest to use them.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from deploychecks.core.webhooks import SECRET_PREFIX

PUBLIC_ADDRESS = "93.184.215.14"  # a public address; the `network` fixture keeps it unreached


class Receiver:
    """Records every request; answers `status` to the first `fail_first`, then 200.

    `delay` holds each answer that many seconds; `trickle` sends the answer one
    byte at a time for that many seconds; `redirect_to` answers 302 there;
    `body` is what every answer says.
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        status: int = 500,
        delay: float = 0,
        trickle: float = 0,
        redirect_to: str = "",
        tls: tuple[str, str] | None = None,
        body: bytes = b"ok",
    ):
        self.fail_first, self.status, self.body = fail_first, status, body
        self.delay, self.trickle, self.redirect_to = delay, trickle, redirect_to
        self.requests: list[dict] = []
        self.server_names: list[str] = []
        self.stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  http.server's naming
                receiver.handle(self)

            def do_GET(self):  # noqa: N802
                receiver.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.url = self.url_for("127.0.0.1")
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url_for(self, host: str) -> str:
        return f"{self.scheme}://{host}:{self.port}/hook"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        self.requests.append(
            {
                "method": request.command,
                "path": request.path,
                "headers": dict(request.headers),
                "body": body,
                "json": json.loads(body or b"null"),
            }
        )
        if self.delay:
            self.stopping.wait(self.delay)
        if self.redirect_to:
            status = 302
        elif len(self.requests) <= self.fail_first:
            status = self.status
        else:
            status = 200
        answer = f"HTTP/1.1 {status} X\r\nContent-Length: {len(self.body)}\r\nConnection: close\r\n"
        if self.redirect_to:
            answer += f"Location: {self.redirect_to}\r\n"
        answer = (answer + "\r\n").encode() + self.body
        if self.trickle:
            pause = self.trickle / len(answer)
            for byte in answer:
                if self.stopping.wait(pause):
                    return
                request.wfile.write(bytes([byte]))
                request.wfile.flush()
        else:
            request.wfile.write(answer)
        request.close_connection = True

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    """Start receivers: `webhook_receiver(**options)` (see Receiver); all stop afterwards."""
    receivers = []

    def start(**options) -> Receiver:
        receiver = Receiver(**options)
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.close()


def verify(request: dict, secret: str):
    """Check a recorded request as a receiver would; return its JSON payload.

    Standard Webhooks first (the library's own verifier), then the deprecated
    X-Deploychecks-Signature, keyed with the secret as configured.
    """
    key = secret if secret.startswith(SECRET_PREFIX) else secret.encode()
    payload = Webhook(key).verify(request["body"], request["headers"])
    headers = request["headers"]
    timestamp = headers["X-Deploychecks-Timestamp"]
    assert timestamp == headers["webhook-timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256)
    assert headers["X-Deploychecks-Signature"] == f"sha256={digest.hexdigest()}"
    assert abs(int(timestamp) - time.time()) < 30
    return payload


class Network:
    """Names resolve as told; connections leave only for loopback (the others are recorded)."""

    def __init__(self, monkeypatch):
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []
        self.refused: list[tuple] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002
            name = host.decode() if isinstance(host, bytes) else host
            if name is None or name.lower() not in self.answers:
                return real_getaddrinfo(host, port, family, type, proto, flags)
            self.lookups.append(name)
            queue = self.answers[name.lower()]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [_answer(address, int(port or 0)) for address in addresses]

        def connect(sock, address):
            inet = sock.family in (socket.AF_INET, socket.AF_INET6)
            if inet and not ipaddress.ip_address(address[0]).is_loopback:
                self.refused.append(tuple(address[:2]))
                raise ConnectionRefusedError(f"{address[0]} is outside this test machine")
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)

    def resolve(self, name: str, *answers: list[str]) -> None:
        """`name` answers each list in turn, one per lookup; the last one from then on."""
        self.answers[name.lower()] = [list(answer) for answer in answers]


def _answer(address: str, port: int) -> tuple:
    if ipaddress.ip_address(address).version == 6:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture
def network(monkeypatch):
    return Network(monkeypatch)


@pytest.fixture
def tls_certificate(tmp_path):
    """(certificate, key) files of a self-signed certificate for hooks.test."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=hooks.test",
            "-addext",
            "subjectAltName=DNS:hooks.test",
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
