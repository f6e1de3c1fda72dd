"""Drive the deployment websocket through the whole ASGI stack, as a browser would.

One module for every area's websocket tests (realtime, reminders, accounts,
security, status page). The communicator talks to `deploychecks.asgi.application`,
so the Origin check, the session cookie and the auth middleware all run. A
communicator lives in the event loop it was created in: keep one socket's whole
life inside one `async_to_sync(...)` call, and reach the database from there with
`sync_to_async`.
"""

import asyncio
import json
import time

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client

from deploychecks.asgi import application

OWN_ORIGIN = b"http://127.0.0.1"
# Generous, because sockets connecting together share one thread for their
# database work; a healthy message arrives in milliseconds.
TIMEOUT = 30
# A consumer only discards its group membership and presence row on the way out.
DISCONNECT_TIMEOUT = 10


def browser_headers(user, *, origin=OWN_ORIGIN) -> list[tuple[bytes, bytes]]:
    """The handshake headers of a browser logged in as `user` on our own site."""
    client = Client()
    client.force_login(user)
    return client_headers(client, origin=origin)


def client_headers(client: Client, *, origin=OWN_ORIGIN) -> list[tuple[bytes, bytes]]:
    """The handshake headers of a browser with `client`'s session cookie."""
    name = settings.SESSION_COOKIE_NAME
    cookie = f"{name}={client.cookies[name].value}"
    return [(b"cookie", cookie.encode()), (b"origin", origin), (b"host", b"127.0.0.1")]


def anonymous_headers() -> list[tuple[bytes, bytes]]:
    return [(b"origin", OWN_ORIGIN), (b"host", b"127.0.0.1")]


def session_headers(client) -> list[tuple[bytes, bytes]]:
    """The handshake headers of a browser holding a test `Client`'s session cookie, if any.

    Unlike `browser_headers`, the session is the client's own, so a test can age
    or end it first.
    """
    headers = anonymous_headers()
    name = settings.SESSION_COOKIE_NAME
    if name in client.cookies:  # else: anonymous
        headers.append((b"cookie", f"{name}={client.cookies[name].value}".encode()))
    return headers


class WebsocketCommunicator(ApplicationCommunicator):
    """The part of channels.testing.WebsocketCommunicator these tests use.

    Importing anything from channels.testing imports daphne, for its live-server
    test case (django/channels#1942), and this project serves with uvicorn. The
    behaviour is channels': `connect()` returns (True, subprotocol) or
    (False, close code).
    """

    def __init__(self, application, path: str, headers):
        super().__init__(
            application,
            {
                "type": "websocket",
                "path": path,
                "query_string": b"",
                "headers": headers,
                "subprotocols": [],
            },
        )

    async def connect(self, timeout: float = 1):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, response.get("subprotocol")

    async def disconnect(self, code: int = 1000, timeout: float = DISCONNECT_TIMEOUT):
        """Close from the client's side; the consumer must then finish, promptly."""
        await self.send_input({"type": "websocket.disconnect", "code": code})
        finished, _ = await asyncio.wait({self.future}, timeout=timeout)
        if not finished:
            self.future.cancel()
            raise AssertionError(
                f"the consumer was still running {timeout} s after the client disconnected"
            )
        self.future.result()  # what the consumer raised, if anything


def deployment_socket(deployment_id: int, headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, f"/ws/deployments/{deployment_id}/", headers=headers)


async def open_socket(deployment_id: int, headers) -> WebsocketCommunicator:
    socket = deployment_socket(deployment_id, headers)
    connected, close_code = await socket.connect(timeout=TIMEOUT)
    assert connected, f"the socket was refused (close code {close_code})"
    return socket


def connect_result(deployment_id: int, headers) -> tuple[bool, object]:
    """Open and close a deployment socket: (True, subprotocol) or (False, close code)."""

    async def attempt():
        socket = deployment_socket(deployment_id, headers)
        result = await socket.connect(timeout=TIMEOUT)
        await socket.disconnect()
        return result

    return async_to_sync(attempt)()


def connect_code(deployment_id: int, client) -> int | None:
    """None if a socket with `client`'s session was accepted, else its close code."""
    connected, code = connect_result(deployment_id, session_headers(client))
    return None if connected else code


def _decode(output: dict) -> dict:
    if output["type"] == "websocket.close":
        return {"type": "closed", "code": output.get("code")}
    return json.loads(output["text"])


async def next_message(socket: WebsocketCommunicator, timeout: float = TIMEOUT) -> dict:
    """The next message other than a presence ping; a close comes back as type "closed"."""
    while True:
        message = _decode(await socket.receive_output(timeout))
        if message["type"] != "presence":
            return message


async def presence_ping(socket: WebsocketCommunicator, timeout: float = TIMEOUT) -> None:
    """Wait for the "presence changed" hint, sent once a join or leave is stored."""
    while _decode(await socket.receive_output(timeout))["type"] != "presence":
        pass


async def messages_until_quiet(socket: WebsocketCommunicator, quiet: float = 0.5) -> list[dict]:
    """Every message other than presence pings, until none has come for `quiet` seconds.

    Unlike `receive_output` with a timeout, this leaves the socket open.
    """
    messages = []
    while not await socket.receive_nothing(timeout=quiet):
        message = _decode(await socket.receive_output())
        if message["type"] != "presence":
            messages.append(message)
    return messages


async def first_toast(socket: WebsocketCommunicator, timeout: float) -> dict | None:
    """Wait up to `timeout` seconds for a toast; other messages are skipped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in await messages_until_quiet(socket, quiet=0.3):
            if message["type"] == "toast":
                return message
    return None
