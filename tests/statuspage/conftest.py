"""Fixtures for the status page tests (live_deployment is in tests/conftest.py)."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """The page's socket and its broadcasts use Redis keys no other test run shares."""
