"""Re-anchor the audit chain: HMAC hashes under AUDIT_HMAC_KEY, the actor inside them.

Adds `actor_ref` (the actor's id as written; actor_id stays outside the hash
because SET_NULL clears it) and recomputes every event's prev_hash and hash
with the current `compute_hash`, in id order. The old chain is checked first
with the old scheme (plain SHA-256, frozen below), and the outcome is appended
as a last event, `audit.reanchored`, with the old head's hash: re-anchoring
must not launder a chain that was already broken, so the record of that stays
in the new chain.

The append-only triggers are switched off for this one transaction (PostgreSQL:
DISABLE TRIGGER, which needs the table's owner, the role migrations run as);
SQLite's are dropped and re-created, with actor_ref in the UPDATE trigger's
list of columns that must not change.
"""

import datetime
import hashlib
import ipaddress
import json
from decimal import Decimal
from importlib import import_module

from django.db import migrations, models
from django.utils import timezone

from deploychecks.audit.services import GENESIS_HASH, compute_hash

SQLITE_FORWARD_0002 = import_module("deploychecks.audit.migrations.0002_append_only").SQLITE_FORWARD

BATCH = 2000

# The columns the old SHA-256 covered, and how it put them in canonical form.
_OLD_FIELDS = (
    "prev_hash",
    "deployment_id",
    "seq",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "before",
    "after",
    "request_id",
    "client_ip",
    "created_at",
)


def _old_numbers(value):
    if isinstance(value, dict):
        return {key: _old_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_old_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    return value


def _old_ip(value):
    try:
        ip = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        elif ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%")[0])
    return str(ip)


def _old_hash(row) -> str:
    payload = {name: getattr(row, name) for name in _OLD_FIELDS}
    payload["before"] = _old_numbers(payload["before"])
    payload["after"] = _old_numbers(payload["after"])
    payload["client_ip"] = _old_ip(payload["client_ip"]) if payload["client_ip"] else None
    payload["created_at"] = (
        payload["created_at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    )
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class _Row:
    def __init__(self, values: dict):
        self.__dict__.update(values)


_SQLITE_COLUMNS = (
    "id",
    "deployment_id",
    "seq",
    "actor_ref",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "before",
    "after",
    "request_id",
    "client_ip",
    "created_at",
    "prev_hash",
    "hash",
)
_SQLITE_UNCHANGED = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in _SQLITE_COLUMNS)
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER audit_auditevent_no_update
    BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW WHEN NOT (NEW.actor_id IS NULL AND {_SQLITE_UNCHANGED})
    BEGIN
        SELECT RAISE(ABORT, 'audit_event is append-only');
    END
    """,
    """
    CREATE TRIGGER audit_auditevent_no_delete
    BEFORE DELETE ON audit_auditevent
    FOR EACH ROW
    BEGIN
        SELECT RAISE(ABORT, 'audit_event is append-only');
    END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
]


def _switch_triggers(schema_editor, on: bool) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        if not on:
            # ALTER TABLE refuses to run while deferred FK checks are pending.
            schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE", params=None)
        action = "ENABLE" if on else "DISABLE"
        schema_editor.execute(
            f"ALTER TABLE audit_auditevent {action} TRIGGER audit_auditevent_no_update_delete",
            params=None,
        )
    elif vendor == "sqlite":
        for statement in SQLITE_TRIGGERS if on else SQLITE_DROP:
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"no append-only triggers for the {vendor} database")


def reanchor(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    using = schema_editor.connection.alias
    events = AuditEvent.objects.using(using)
    fields = ("id", *_OLD_FIELDS, "actor_id", "hash")
    _switch_triggers(schema_editor, on=False)

    count, last_id = 0, 0
    old_prev, new_prev = GENESIS_HASH, GENESIS_HASH
    first_bad = None
    with schema_editor.connection.cursor() as cursor:
        while True:
            rows = list(events.filter(id__gt=last_id).order_by("id").values(*fields)[:BATCH])
            if not rows:
                break
            updates = []
            for values in rows:
                row = _Row(values)
                if first_bad is None and (row.prev_hash != old_prev or _old_hash(row) != row.hash):
                    first_bad = row.id
                old_prev = row.hash
                row.actor_ref = row.actor_id
                row.prev_hash = new_prev
                new_prev = compute_hash(row)
                updates.append((row.actor_ref, row.prev_hash, new_prev, row.id))
            cursor.executemany(
                "UPDATE audit_auditevent SET actor_ref = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                updates,
            )
            count += len(rows)
            last_id = rows[-1]["id"]

    if count:
        anchor = AuditEvent(
            action="audit.reanchored",
            target_repr=f"{count} events re-hashed with HMAC-SHA256 (AUDIT_HMAC_KEY)",
            after={
                "events": count,
                "old_head_hash": old_prev,
                "old_chain_intact": first_bad is None,
                "old_first_bad_event": first_bad,
            },
            actor_name="",
            created_at=timezone.now(),
            prev_hash=new_prev,
        )
        anchor.hash = compute_hash(anchor)
        anchor.save(using=using, force_insert=True)
    _switch_triggers(schema_editor, on=True)


def downgrade(apps, schema_editor):
    """Back to plain SHA-256 (for a rollback of the code): every event but the
    re-anchoring ones re-hashed with the old scheme, in id order."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    using = schema_editor.connection.alias
    events = AuditEvent.objects.using(using)
    _switch_triggers(schema_editor, on=False)
    events.filter(action="audit.reanchored").delete()
    last_id, prev = 0, GENESIS_HASH
    with schema_editor.connection.cursor() as cursor:
        while rows := list(
            events.filter(id__gt=last_id).order_by("id").values("id", *_OLD_FIELDS)[:BATCH]
        ):
            updates = []
            for values in rows:
                row = _Row(values)
                row.prev_hash = prev
                prev = _old_hash(row)
                updates.append((row.prev_hash, prev, row.id))
            cursor.executemany(
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", updates
            )
            last_id = rows[-1]["id"]
    if schema_editor.connection.vendor == "postgresql":
        _switch_triggers(schema_editor, on=True)
    # SQLite: removing actor_ref next rebuilds the table, which drops triggers;
    # restore_0002_sqlite_triggers puts migration 0002's back after that.


def restore_0002_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP + SQLITE_FORWARD_0002:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
    ]

    operations = [
        # Forward: nothing. Backward, last: migration 0002's SQLite triggers.
        migrations.RunPython(migrations.RunPython.noop, restore_0002_sqlite_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="actor_ref",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(reanchor, downgrade, elidable=False),
    ]
