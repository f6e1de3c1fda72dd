"""verify_audit finds rows changed or removed behind the triggers' back."""

import pytest
from django.core.management import call_command

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import compute_hash, record_event, verify_chain
from deploychecks.audit.witness import write_head
from tests.conftest import triggers_disabled

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(engineer):
    return [
        record_event(
            action="item.ticked",
            actor=engineer,
            target_repr=f"Item {n}",
            before={"state": "open"},
            after={"state": "done"},
        )
        for n in range(5)
    ]


def run_verify(capsys):
    """Run the command; return (exit code, stdout, stderr)."""
    try:
        call_command("verify_audit")
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_intact_chain_passes(events, capsys):
    write_head()

    code, out, err = run_verify(capsys)

    assert code == 0
    assert out.strip() == "audit chain intact: 5 events; witness agrees (1 sightings)"
    assert err == ""


def test_empty_log_is_intact(capsys):
    code, out, _ = run_verify(capsys)

    assert code == 0
    assert out.strip() == "audit chain intact: 0 events; witness agrees (0 sightings)"


def test_a_chain_without_its_witness_is_not_called_intact(events, capsys):
    code, out, err = run_verify(capsys)

    assert (code, out) == (1, "")
    assert err.startswith("witness: no witness file at ")


def test_witness_lines_not_written_with_the_key_are_named(events, settings, capsys):
    write_head()
    line = settings.AUDIT_WITNESS_PATH.read_text()
    forged = line.replace(f'"id":{events[-1].pk}', f'"id":{events[-1].pk + 7}')
    settings.AUDIT_WITNESS_PATH.write_text(line + forged)

    code, _, err = run_verify(capsys)

    assert code == 1
    assert err.strip() == (
        "witness: witness line 2 was not written with the audit key (forged or edited)"
    )


def test_the_witness_gets_a_line_only_when_the_head_moved(events, settings, engineer):
    first = write_head()
    assert write_head() is None
    newer = record_event(action="item.reopened", actor=engineer)
    second = write_head()

    lines = settings.AUDIT_WITNESS_PATH.read_text().splitlines()
    assert (first.event_id, second.event_id) == (events[-1].pk, newer.pk)
    assert len(lines) == 2 and f'"hash":"{newer.hash}"' in lines[1]


def test_a_rewritten_witnessed_event_is_named(events, capsys):
    write_head()
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[-1].pk]
        )

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"witness: event {events[-1].pk} is not the event seen by the witness" in err


def test_altered_after_value_is_found(events, capsys):
    victim = events[2]
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"state": "open"}', victim.pk]
        )

    code, _, err = run_verify(capsys)

    assert code == 1
    assert err.startswith(
        f"audit chain broken at event {victim.pk} (deployment None, seq None): "
        "content does not match its hash (the event was altered, or not written with the "
        "audit key)\n"
    )


def test_altered_actor_name_is_found(events, capsys):
    victim = events[1]
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_name = 'mallory' WHERE id = %s", [victim.pk]
        )

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"audit chain broken at event {victim.pk} " in err


def test_rewriting_the_hash_too_is_found_at_the_next_event(events):
    victim = events[1]
    forged = AuditEvent.objects.get(pk=victim.pk)
    forged.actor_name = "mallory"
    with triggers_disabled() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor_name = 'mallory', hash = %s WHERE id = %s",
            [compute_hash(forged), victim.pk],
        )

    check = verify_chain()

    assert not check.ok
    assert check.first_bad.pk == events[2].pk
    assert "prev_hash" in check.reason


def test_deleted_middle_event_is_found(events, capsys):
    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])

    code, _, err = run_verify(capsys)

    assert code == 1
    assert f"audit chain broken at event {events[3].pk} " in err
    assert "prev_hash does not match" in err


def test_deleted_first_event_is_found(events):
    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])

    check = verify_chain()

    assert (check.ok, check.first_bad.pk) == (False, events[1].pk)


def test_a_subset_is_checked_against_the_global_chain(events):
    subset = AuditEvent.objects.filter(pk__in=[events[1].pk, events[3].pk])

    assert verify_chain(subset) == (True, 2, None, "")

    with triggers_disabled() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    check = verify_chain(subset)

    assert (check.ok, check.count, check.first_bad.pk) == (False, 2, events[3].pk)
