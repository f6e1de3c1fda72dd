"""Fixtures for the audit tests: requests, trigger switches and cleanup."""

from contextlib import contextmanager

import pytest
from django.db import connection, transaction
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


@contextmanager
def triggers_disabled():
    """What an attacker with table-owner rights can do: switch the triggers off."""
    with transaction.atomic(), connection.cursor() as cursor:
        # ALTER TABLE refuses to run while deferred FK checks are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def purge_audit_events(transactional_db):
    """Empty the audit table after a transactional test.

    Django's flush truncates every table between transactional tests, and the
    trigger refuses to truncate a table that holds events. Requesting
    transactional_db makes this teardown run before that flush.
    """
    yield
    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
