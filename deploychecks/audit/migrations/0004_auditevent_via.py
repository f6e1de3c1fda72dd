"""AuditEvent.via: where a change made through the API came from (core.provenance).

A nullable column, added in place on both databases. SQLite's UPDATE trigger
names every column it keeps unchanged (migration 0003), so it is re-created
with `via` in the list; PostgreSQL's compares whole rows and needs nothing.
"""

from importlib import import_module

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

_0003 = import_module("deploychecks.audit.migrations.0003_hmac_chain")

_SQLITE_COLUMNS = (*_0003._SQLITE_COLUMNS, "via")
_UNCHANGED = " AND ".join(f'NEW."{c}" IS OLD."{c}"' for c in _SQLITE_COLUMNS)
SQLITE_UPDATE_TRIGGER = f"""
    CREATE TRIGGER audit_auditevent_no_update
    BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW WHEN NOT (NEW.actor_id IS NULL AND {_UNCHANGED})
    BEGIN
        SELECT RAISE(ABORT, 'audit_event is append-only');
    END
    """


def _update_trigger(schema_editor, statement: str) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS audit_auditevent_no_update", params=None)
    schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _update_trigger(schema_editor, SQLITE_UPDATE_TRIGGER)


def backward(apps, schema_editor):
    _update_trigger(schema_editor, _0003.SQLITE_TRIGGERS[0])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_hmac_chain"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="via",
            field=models.JSONField(blank=True, encoder=DjangoJSONEncoder, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
