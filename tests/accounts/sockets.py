"""Open a deployment's websocket through the whole ASGI stack with a client's cookie."""

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings

from deploychecks.asgi import application


def connect_code(deployment_id: int, client) -> int | None:
    """None if the socket was accepted, else its close code."""
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if settings.SESSION_COOKIE_NAME in client.cookies:  # else: anonymous
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    scope = {
        "type": "websocket",
        "path": f"/ws/deployments/{deployment_id}/",
        "query_string": b"",
        "subprotocols": [],
        "headers": headers,
    }

    async def attempt():
        socket = ApplicationCommunicator(application, scope)
        await socket.send_input({"type": "websocket.connect"})
        output = await socket.receive_output(10)
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(10)
        return None if output["type"] == "websocket.accept" else output.get("code")

    return async_to_sync(attempt)()
