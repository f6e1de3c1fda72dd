import pytest
from channels.layers import channel_layers

from deploychecks.celery import app as celery_app
from tests.webhook_receiver import network, tls_certificate, webhook_receiver  # noqa: F401

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


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
def broker_down(settings, monkeypatch):
    """The Celery broker at a port where no Redis listens.

    The Celery app reads CELERY_BROKER_URL into its own configuration once, so
    the setting and the app's copy are both changed (and restored afterwards).
    """
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS
    monkeypatch.setattr(celery_app.conf, "broker_url", UNREACHABLE_REDIS)
