import copy
import socket
import time

import pytest
from channels.layers import channel_layers
from django.db import connections

from deploychecks.celery import app as celery_app
from deploychecks.core.database import guard

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def closed_port() -> int:
    """A local port nothing listens on (a fresh one each call)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_channel_layers():
    """Drop cached channel layers before and after, so each test builds its own.

    Channels also drops them when CHANNEL_LAYERS changes, but a layer built for
    one test's event loops should not leak into the next test.
    """
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def channel_layer_down(settings, fresh_channel_layers):
    """CHANNEL_LAYERS pointing at a port where no Redis listens."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [UNREACHABLE_REDIS]},
        }
    }


@pytest.fixture
def cache_down(settings):
    """The cache as the settings configure it, but at a port where no Redis listens
    (a fresh port per test: the cache logs an outage once per address and 10 s)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = caches


@pytest.fixture
def broker_down(settings, monkeypatch):
    """The Celery broker at a port where no Redis listens.

    The Celery app reads CELERY_BROKER_URL into its own configuration once, so
    the setting and the app's copy are both changed (and restored afterwards).
    The app's copy first: Celery looks the setting up in Django's settings, so
    patched after them, it would "restore" the unreachable URL and keep it.
    """
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE_REDIS)
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS


class DatabaseOutage:
    """New connections to the default database go to a closed port, as after a crash.

    The shared PostgreSQL is never touched: `cut()` puts a pool for the closed
    port in place of the real one (connections already open stay open, so call
    it after logging in), `restore()` puts the real one back: the database
    "accepts connections again".
    """

    def __init__(self):
        self.wrapper = connections["default"]
        self.settings_dict = self.wrapper.settings_dict  # shared by every thread's wrapper
        self.real_port = self.settings_dict["PORT"]
        self.real_pool = None
        self.cut_off = False

    def cut(self, *, close_connections: bool = True) -> None:
        if close_connections:
            connections.close_all()
        self.real_pool = self.wrapper._connection_pools.pop("default", None)
        self.settings_dict["PORT"] = str(closed_port())
        self.cut_off = True

    def restore(self) -> None:
        if not self.cut_off:
            return
        dead = self.wrapper._connection_pools.pop("default", None)
        self.settings_dict["PORT"] = self.real_port
        if self.real_pool is not None:
            self.wrapper._connection_pools["default"] = self.real_pool
        if dead is not None:
            dead.close(timeout=0)
        # The test client keeps this thread's connection across requests (a
        # server closes it after each): drop it, broken or not.
        connections.close_all()
        self.cut_off = False


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def database_outage(transactional_db):
    outage = DatabaseOutage()
    yield outage
    outage.restore()
    # The probe finds the database again within its interval; the next test
    # must start with the guard up.
    assert wait_for(lambda: not guard.down and not guard.probing, 5)
