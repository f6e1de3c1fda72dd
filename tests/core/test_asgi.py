"""The ASGI side of HTTP: one thread per request, pooled database connections."""

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from asgiref.testing import ApplicationCommunicator
from django.db import connection
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True)


def test_http_requests_run_middleware_and_view_synchronously():
    from deploychecks.asgi import application, django_asgi_app

    async def get(path):
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "scheme": "http",
            "headers": [(b"host", b"127.0.0.1")],
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 5000),
        }
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)  # the body
        await communicator.wait()
        return start

    response = async_to_sync(get)(reverse("login"))

    # Django's own handler builds an async chain, crossing between the loop
    # and a thread at every synchronous middleware and view.
    assert not iscoroutinefunction(django_asgi_app._middleware_chain)
    assert response["status"] == 200
    headers = {name.lower(): value for name, value in response["headers"]}
    assert b"app;dur=" in headers[b"server-timing"]
    assert b"content-security-policy" in headers


def test_postgresql_connections_come_from_a_pool():
    """Under ASGI each request has a thread of its own: without a pool, each one
    opened (and closed) a PostgreSQL connection."""
    assert connection.vendor == "postgresql"
    pool = connection.pool
    assert pool is not None
    assert pool.max_size == 20
    assert connection.settings_dict["CONN_MAX_AGE"] == 0


def _scope(method: str, path: str) -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "scheme": "http",
        "headers": [(b"host", b"127.0.0.1")],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }


def test_only_a_few_requests_run_in_threads_at_once_and_changes_go_first(settings, monkeypatch):
    """Issue 13: every open page refetching at once put 200 requests in 200
    threads; a tick waited seconds behind them (or got a 503 from the
    database pool) and the process's memory rose by the peak and stayed."""
    import threading
    import time

    from deploychecks.core.asgi_handler import ThreadedASGIHandler

    settings.WEB_REQUEST_THREADS = 2
    handler = ThreadedASGIHandler()
    lock = threading.Lock()
    running, peak, order = [0], [0], []
    # The first reads hold their slots until the tick waits for one, so the test
    # does not depend on how fast a loaded machine starts threads.
    tick_waiting = threading.Event()

    def get_response(request):
        from django.http import HttpResponse

        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            order.append(f"{request.method} {request.path}")  # in the order they start
            started = len(order)
        if request.method == "GET" and started <= 2:
            tick_waiting.wait(10)
            # The second one holds its slot a while longer: the slot the first frees
            # is the one that must go to the tick.
            time.sleep(0.05 if started == 1 else 0.5)
        else:
            time.sleep(0.05)
        with lock:
            running[0] -= 1
        return HttpResponse("ok")

    monkeypatch.setattr(handler, "get_response", get_response)

    async def request(method, path, delay):
        import asyncio

        await asyncio.sleep(delay)
        communicator = ApplicationCommunicator(handler, _scope(method, path))
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)
        await communicator.wait()
        return start["status"]

    async def storm():
        import asyncio

        reads = [asyncio.ensure_future(request("GET", f"/read-{n}/", 0)) for n in range(6)]
        # A tick made while the reads wait for a slot.
        tick = asyncio.ensure_future(request("POST", "/tick/", 0.05))
        loop = asyncio.get_running_loop()
        for _ in range(1000):  # until the tick waits in the queue of changes
            slots = handler._slots.get(loop)
            if slots is not None and slots.changes:
                break
            await asyncio.sleep(0.01)
        tick_waiting.set()
        return await asyncio.gather(*reads, tick)

    statuses = async_to_sync(storm)()

    assert statuses == [200] * 7
    assert peak[0] == 2
    # Two reads were running when the tick came; it started next, before the other four.
    assert order.index("POST /tick/") == 2


def test_request_slots_default_below_the_database_pool():
    from django.conf import settings

    assert 0 < settings.WEB_REQUEST_THREADS < connection.pool.max_size


def test_an_idle_process_collects_its_garbage_once(settings, monkeypatch):
    """Issue 13: the collector only runs on allocations, so cyclic garbage left
    by a busy minute stayed in an idle process (tens of MB after a refetch storm)."""
    import asyncio

    from django.http import HttpResponse

    from deploychecks.core import asgi_handler
    from deploychecks.core.asgi_handler import ThreadedASGIHandler

    settings.WEB_IDLE_GC_SECONDS = 0.3
    handler = ThreadedASGIHandler()
    monkeypatch.setattr(handler, "get_response", lambda request: HttpResponse("ok"))
    collections = []
    monkeypatch.setattr(asgi_handler.gc, "collect", lambda *a: collections.append(a))

    async def get(path):
        communicator = ApplicationCommunicator(handler, _scope("GET", path))
        await communicator.send_input({"type": "http.request", "body": b""})
        await communicator.receive_output(timeout=10)
        await communicator.receive_output(timeout=10)
        await communicator.wait()

    async def scenario():
        counts = []
        for n in range(3):  # busy: a request every 0.1 s
            await get(f"/busy-{n}/")
            await asyncio.sleep(0.1)
        counts.append(len(collections))
        await asyncio.sleep(0.6)  # quiet
        counts.append(len(collections))
        await asyncio.sleep(0.6)  # still quiet: nothing new to collect
        counts.append(len(collections))
        return counts

    assert async_to_sync(scenario)() == [0, 1, 1]
