"""Fixtures for the websocket tests.

These tests commit for real (the consumer does its database work in another
thread, and broadcasts wait for commit), so every test here is transactional.
"""

import copy
import uuid

import pytest
from django.conf import settings
from django.test.utils import override_settings

from deploychecks.runs.models import RunSubCheck
from tests.audit.conftest import purge_audit_events  # noqa: F401  (shared cleanup)


@pytest.fixture(scope="module", autouse=True)
def private_channel_prefix():
    """Give this module's Redis keys a prefix of its own.

    Test databases number deployments from 1 again, so two runs sharing one
    Redis (developers side by side, overlapping CI jobs) would otherwise share
    the group "deployment-1" and see each other's events. Everything else of
    the channel layer's configuration stays as the settings have it.
    """
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" not in config:  # the in-memory layer of embedded mode
        yield
        return
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["prefix"] = f"{config['prefix']}-test-{uuid.uuid4().hex[:8]}"
    with override_settings(CHANNEL_LAYERS=layers):
        yield


@pytest.fixture(autouse=True)
def empty_audit_log_after_test(purge_audit_events):
    """Every deployment has audit events, which Django's flush cannot truncate."""


@pytest.fixture
def first_subcheck(deployment):
    return (
        RunSubCheck.objects.filter(item__deployment=deployment)
        .order_by("item__phase__position", "item__position", "position")
        .first()
    )
