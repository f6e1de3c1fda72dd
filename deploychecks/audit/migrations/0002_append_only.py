"""Make audit_auditevent append-only in the database itself.

One exception everywhere: an UPDATE that only sets actor_id to NULL, which is
what Django's on_delete=SET_NULL issues when a user is deleted.

The SQL is kept in module constants so tests can reuse it. Note for future
migrations: on SQLite, altering this table rebuilds it and drops these
triggers, and the SQLite UPDATE trigger names every column; such a migration
must re-create them.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
        RETURN NEW;
    END IF;
    -- Emptying an already empty table loses nothing; Django's flush (used by
    -- transactional tests) truncates every table, this one included.
    IF TG_OP = 'TRUNCATE' AND NOT EXISTS (SELECT 1 FROM audit_auditevent) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();

CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_update_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""

# Every column but actor_id; an UPDATE is let through only if none of them changes.
_SQLITE_UNCHANGED = " AND ".join(
    f'NEW."{column}" IS OLD."{column}"'
    for column in (
        "id",
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
        "prev_hash",
        "hash",
    )
)

SQLITE_FORWARD = [
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

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update",
]


def _run(schema_editor, postgresql, sqlite):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement, params=None)
    else:
        raise NotImplementedError(f"no append-only triggers for the {vendor} database")


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, POSTGRESQL_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, reverse),
    ]
