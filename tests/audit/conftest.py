"""Fixtures for the audit tests (trigger switches and cleanup are in tests/conftest.py)."""

import pytest
from django.test import RequestFactory


@pytest.fixture
def make_request():
    def make(*, request_id="req-1", remote_addr="203.0.113.7", forwarded_for=None):
        extra = {"REMOTE_ADDR": remote_addr}
        if forwarded_for is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
        request = RequestFactory().post("/runs/1/items/1", **extra)
        request.request_id = request_id
        return request

    return make
