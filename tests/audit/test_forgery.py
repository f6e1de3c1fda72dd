"""verify_audit names forged appends, changed actors and events deleted from the end.

The attacks of issue 13, each as the attacker would make it: with the
published hashing code but without the audit key, with database rights short
of a superuser's (or, for the worst case, the table owner's, who can switch
the append-only triggers off).
"""

import datetime
import hashlib
import json
import os

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import HASHED_FIELDS, record_event
from deploychecks.core.scheduler import run_beat_schedule_once
from tests.conftest import triggers_disabled


def run_verify(capsys):
    """Run the command; return (exit code, stdout, stderr)."""
    try:
        call_command("verify_audit")
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def unkeyed_hash(values: dict) -> str:
    """What someone who read our code but has no key computes: the payload's SHA-256."""
    payload = dict(values)
    payload["created_at"] = (
        payload["created_at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    )
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def forger(transactional_db):
    """A login role that may read and insert audit rows, and nothing more: no
    superuser, not the table's owner (so it cannot switch the triggers off)."""
    role = f"audit_forger_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        cursor.execute(f"GRANT SELECT, INSERT ON audit_auditevent TO {role}")
        cursor.execute(f"GRANT USAGE ON SEQUENCE audit_auditevent_id_seq TO {role}")
    params = connection.get_connection_params()
    conn = psycopg.connect(
        host=params.get("host") or "127.0.0.1",
        port=params.get("port") or 5432,
        dbname=params["dbname"],
        user=role,
    )
    yield conn
    conn.close()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")


def test_a_forged_append_by_a_non_superuser_role_is_named(
    forger, deployment, approver, capsys, purge_audit_events
):
    [is_superuser] = forger.execute("SELECT usesuper FROM pg_user WHERE usename = current_user")
    assert is_superuser == (False,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        forger.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    forger.rollback()
    head = forger.execute("SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1").fetchone()
    # An approval nobody gave, chained correctly onto the newest event.
    values = {
        "prev_hash": head[0],
        "deployment_id": deployment.pk,
        "seq": deployment.seq + 50,
        "actor_ref": approver.pk,
        "actor_name": approver.get_username(),
        "action": "signoff.approved",
        "target_type": "signoffs.signoff",
        "target_id": "999",
        "target_repr": "QA Lead",
        "before": None,
        "after": {"role": "QA Lead", "comment": "looks good"},
        "request_id": "",
        "client_ip": None,
        "created_at": timezone.now(),
        "via": None,
    }
    values = {name: values[name] for name in HASHED_FIELDS}
    row = {**values, "hash": unkeyed_hash(values), "actor_id": approver.pk}
    for key in ("before", "after"):
        row[key] = psycopg.types.json.Jsonb(row[key]) if row[key] is not None else None
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    forged_id = forger.execute(
        f"INSERT INTO audit_auditevent ({columns}) VALUES ({marks}) RETURNING id",  # noqa: S608
        list(row.values()),
    ).fetchone()[0]
    forger.commit()

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"audit chain broken at event {forged_id} (deployment {deployment.pk}," in err
    assert "not written with the audit key" in err


@pytest.mark.django_db
def test_events_deleted_from_the_end_are_named(engineer, capsys):
    events = [record_event(action="item.ticked", actor=engineer) for _ in range(5)]
    run_beat_schedule_once()  # beat writes the head to the witness
    with triggers_disabled() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE id >= %s", [events[3].pk]
        )  # the newest two

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"event {events[4].pk} is missing: the chain ends at event {events[2].pk}" in err
    assert "deleted from the end" in err


@pytest.mark.django_db
def test_a_changed_actor_is_named(engineer, outsider, capsys):
    events = [record_event(action="item.ticked", actor=engineer) for _ in range(3)]
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_id = %s WHERE id = %s", [outsider.pk, events[1].pk]
        )

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"audit chain broken at event {events[1].pk} " in err
    assert "actor_id does not match the actor the event was written with" in err


@pytest.mark.django_db
def test_an_actor_cleared_while_the_user_exists_is_named(engineer, capsys):
    event = record_event(action="item.ticked", actor=engineer)
    # The one UPDATE the triggers allow (SET_NULL), made without deleting the user.
    AuditEvent.objects.filter(pk=event.pk).update(actor=None)

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"event {event.pk} " in err
    assert f"actor_id was cleared although user {engineer.pk} still exists" in err


@pytest.mark.django_db
def test_deleting_the_user_keeps_the_chain_intact(engineer, capsys):
    record_event(action="item.ticked", actor=engineer)
    engineer.delete()
    run_beat_schedule_once()

    code, out, err = run_verify(capsys)

    assert (code, err) == (0, "")
    assert out.startswith("audit chain intact: 1 events; witness agrees (1 sightings)")
