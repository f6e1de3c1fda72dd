"""Migration 0003 re-anchors a chain written under the old scheme (plain SHA-256).

The test migrates the audit app back to 0002 (which re-hashes the events the
old way, as a database written by the old code holds them) and forward again.
"""

from importlib import import_module

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import GENESIS_HASH, verify_chain
from deploychecks.runs.services import set_item_state
from tests.conftest import triggers_disabled

reanchoring = import_module("deploychecks.audit.migrations.0003_hmac_chain")
OLD = ("audit", "0002_append_only")
# Forward to today's schema (0003 re-anchors on the way; later migrations add columns
# the models expect, such as `via`).
NEW = next(
    node
    for node in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
    if node[0] == "audit"
)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def old_scheme_intact() -> bool:
    # values(): only the columns named, none of which is new in 0003.
    prev = GENESIS_HASH
    fields = ("id", *reanchoring._OLD_FIELDS, "hash")
    for values in AuditEvent.objects.order_by("id").values(*fields):
        row = reanchoring._Row(values)
        if row.prev_hash != prev or reanchoring._old_hash(row) != row.hash:
            return False
        prev = row.hash
    return True


@pytest.fixture
def old_chain(deployment, engineer, first_item, purge_audit_events):
    """A deployment's events, in a database at migration 0002 (the old scheme)."""
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=first_item.version,
        user=engineer,
    )
    count = AuditEvent.objects.count()
    migrate(OLD)
    try:
        yield count
    finally:
        migrate(NEW)  # whatever the test did, the next test gets today's schema


@pytest.mark.django_db(transaction=True)
def test_an_old_chain_is_rehashed_and_anchored(old_chain, deployment, engineer, client):
    assert old_scheme_intact()
    migrate(NEW)

    check = verify_chain()
    assert (check.ok, check.count) == (True, old_chain + 1), check.reason
    anchor = AuditEvent.objects.order_by("-id").first()
    assert anchor.action == "audit.reanchored"
    assert anchor.after["events"] == old_chain and anchor.after["old_chain_intact"] is True
    tick = AuditEvent.objects.get(action="item.ticked")
    assert tick.actor_ref == engineer.pk
    # The record page verifies the deployment's events under the new scheme.
    client.force_login(deployment.lead)
    page = client.get(reverse("history:record", args=[deployment.pk])).content.decode()
    assert "Audit chain verified" in page and "BROKEN" not in page


@pytest.mark.django_db(transaction=True)
def test_a_chain_broken_before_the_migration_stays_on_record(old_chain):
    victim = AuditEvent.objects.order_by("id").values_list("id", flat=True)[1]
    with triggers_disabled() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor_name = 'mallory' WHERE id = %s", [victim])
    assert not old_scheme_intact()

    migrate(NEW)

    anchor = AuditEvent.objects.order_by("-id").first()
    assert anchor.after["old_chain_intact"] is False
    assert anchor.after["old_first_bad_event"] == victim
