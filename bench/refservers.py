"""Reference servers for `bench/fanout.py --baseline` (issue 13).

Both speak the same protocol as the app, as far as the bench sees it:

- a viewer opens a websocket on any path and receives, for every tick, the
  text `{"type": "event", "seq": N, "kind": "item", "resync": false, "html":
  "<li id=\"item-I\" data-version=\"V\">…"}` padded to `--payload` bytes, with
  one sequence number per server, in order;
- a ticker asks `GET /tick?item=I`; the server takes the next seq and the
  item's next version, broadcasts, and answers `<li id="item-I"
  data-version="V">` once the broadcast is handed over.

`floor`: a bare `websockets` server (no Django, no channel layer): the
practical floor of this machine.

`channels`: a minimal Channels app, the conventional way: every socket a
consumer in a channels-redis group, each tick one `group_send` to it. Served by
uvicorn like the app (`bench/refservers.py` is then also its ASGI module,
`refservers:channels_app`).

    python bench/refservers.py floor --port 8801 --payload 1500
"""

import argparse
import asyncio
import json
import os
from urllib.parse import parse_qs, urlsplit

PAYLOAD = int(os.environ.get("REF_PAYLOAD", "1500"))


class Ticks:
    """One sequence for the server, one version per item."""

    def __init__(self, payload: int):
        self.payload = payload
        self.seq = 0
        self.versions: dict[int, int] = {}

    def next(self, query: str) -> tuple[str, str]:
        item = int(parse_qs(query).get("item", ["0"])[0])
        self.seq += 1
        version = self.versions[item] = self.versions.get(item, 0) + 1
        row = f'<li id="item-{item}" data-version="{version}">'
        text = json.dumps(
            {"type": "event", "seq": self.seq, "kind": "item", "resync": False, "html": row}
        )
        # Pad the html to the app's message size, so both send the same bytes.
        pad = max(0, self.payload - len(text))
        text = text[:-2] + "x" * pad + text[-2:]
        return text, row


# --- floor: websockets alone ------------------------------------------------------------


async def floor(port: int, payload: int) -> None:
    from http import HTTPStatus

    from websockets.asyncio.server import broadcast, serve

    ticks = Ticks(payload)
    sockets = set()

    async def handler(ws):
        sockets.add(ws)
        try:
            await ws.wait_closed()
        finally:
            sockets.discard(ws)

    def process_request(connection, request):
        url = urlsplit(request.path)
        if url.path == "/tick":
            text, row = ticks.next(url.query)
            broadcast(sockets, text)
            return connection.respond(HTTPStatus.OK, row)
        if url.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok")
        return None  # a websocket

    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=process_request,
        compression=None,  # as the app is deployed (--ws-per-message-deflate false)
        ping_interval=None,
        max_queue=None,
    ) as server:
        await server.serve_forever()


# --- channels: a minimal Channels app with plain groups ---------------------------------


def _channels_app():
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-reference-only",
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    # As the app's settings: redis-py's default pool (100
                    # connections) fails a burst of joins with MaxConnectionsError.
                    "hosts": [
                        {
                            "address": os.environ["REDIS_URL"],
                            "max_connections": 2000,
                            "socket_timeout": None,
                        }
                    ],
                    "prefix": "bench-ref",
                    "capacity": 1000,
                },
            }
        },
    )
    django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.layers import get_channel_layer
    from channels.routing import ProtocolTypeRouter

    group = "bench-ref"
    ticks = Ticks(PAYLOAD)

    class Viewer(AsyncWebsocketConsumer):
        async def connect(self):
            await self.channel_layer.group_add(group, self.channel_name)
            await self.accept()

        async def disconnect(self, code):
            await self.channel_layer.group_discard(group, self.channel_name)

        async def ref_event(self, event):
            await self.send(text_data=event["text"])

    async def http(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        body = b"ok"
        if scope["path"] == "/tick":
            text, row = ticks.next(scope["query_string"].decode())
            await get_channel_layer().group_send(group, {"type": "ref.event", "text": text})
            body = row.encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return ProtocolTypeRouter({"http": http, "lifespan": http, "websocket": Viewer.as_asgi()})


def __getattr__(name):  # uvicorn imports `refservers:channels_app`; set up Django only then
    if name == "channels_app":
        app = globals()["channels_app"] = _channels_app()
        return app
    raise AttributeError(name)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["floor"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--payload", type=int, default=PAYLOAD)
    args = p.parse_args()
    try:
        import uvloop

        uvloop.run(floor(args.port, args.payload))
    except ImportError:
        asyncio.run(floor(args.port, args.payload))


if __name__ == "__main__":
    main()
