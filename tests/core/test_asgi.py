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
