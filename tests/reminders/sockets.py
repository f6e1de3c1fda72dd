"""A deployment websocket driven through the whole ASGI stack (Origin check, session, auth).

Deliberately small: connect as a logged-in user, read messages until the socket
goes quiet. A communicator lives in the event loop it was created in, so keep a
socket's whole life inside one `async_to_sync(...)` call.
"""

import json

from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.test import Client

from deploychecks.asgi import application


def browser_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


async def open_socket(deployment_id: int, headers, timeout: float = 30) -> ApplicationCommunicator:
    socket = ApplicationCommunicator(
        application,
        {
            "type": "websocket",
            "path": f"/ws/deployments/{deployment_id}/",
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
        },
    )
    await socket.send_input({"type": "websocket.connect"})
    answer = await socket.receive_output(timeout)
    assert answer["type"] == "websocket.accept", answer
    return socket


async def messages_until_quiet(socket, quiet: float = 0.5) -> list[dict]:
    """Every message until none has come for `quiet` seconds (the socket stays open:
    unlike receive_output, receive_nothing does not cancel the consumer on a timeout)."""
    messages = []
    while not await socket.receive_nothing(timeout=quiet):
        output = await socket.receive_output()
        if output["type"] == "websocket.send":
            messages.append(json.loads(output["text"]))
    return messages


async def first_toast(socket, timeout: float) -> dict | None:
    """Wait up to `timeout` seconds for a toast; other messages are skipped."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in await messages_until_quiet(socket, quiet=0.3):
            if message["type"] == "toast":
                return message
    return None


async def close(socket) -> None:
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(5)
