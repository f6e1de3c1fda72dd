"""Fixtures for the websocket tests.

These tests commit for real (the consumer does its database work in another
thread, and broadcasts wait for commit), so every test here is transactional.
"""

import pytest

from deploychecks.runs.models import RunSubCheck


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """Each module's sockets and broadcasts use Redis keys no other test run shares."""


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
