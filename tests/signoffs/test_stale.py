"""A change to the checklist after a sign-off makes it stale and tells the approver."""

import pytest
from django.core import mail

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import RunSubCheck
from deploychecks.runs.services import add_item_note, set_item_state, set_subcheck_state
from deploychecks.signoffs.models import SignOff

pytestmark = pytest.mark.django_db


def _tick(deployment, item, user, state="done", version=1, reason=""):
    return set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state=state,
        expected_version=version,
        user=user,
        reason=reason,
    )


def test_reopening_an_item_makes_every_valid_sign_off_stale_and_emails_the_signers(
    deployment, engineer, approver, approvers, first_item, sign, django_capture_on_commit_callbacks
):
    _tick(deployment, first_item, engineer)
    sign(approver, "QA Lead")
    sign(approvers["DevOps Lead"], "DevOps Lead", decision="reject", comment="Wait for infra")

    with django_capture_on_commit_callbacks(execute=True):
        change = _tick(deployment, first_item, engineer, state="open", version=2)

    signoffs = list(SignOff.objects.order_by("pk"))
    assert [s.status for s in signoffs] == ["stale", "stale"]
    reason = f"“{first_item.title}” was reopened by erin"
    assert all(s.stale_reason == reason and s.invalidated_at for s in signoffs)
    events = list(AuditEvent.objects.filter(action="signoff.stale").order_by("seq"))
    assert [e.seq for e in events] == [change.seq + 1, change.seq + 2]
    assert events[0].actor == engineer and events[0].after["caused_by_seq"] == change.seq
    deployment.refresh_from_db()
    assert deployment.seq == change.seq + 2
    assert sorted(m.to[0] for m in mail.outbox) == ["dev@example.com", "quinn@example.com"]
    message = next(m for m in mail.outbox if m.to == ["quinn@example.com"])
    assert "stale" in message.subject and "QA Lead" in message.subject
    assert reason in message.body and deployment.get_absolute_url() in message.body


@pytest.mark.parametrize("change", ["tick", "mark_na"])
def test_any_item_state_change_makes_a_sign_off_stale(
    deployment, engineer, approver, first_item, sign, change
):
    sign(approver, "QA Lead")
    if change == "tick":
        _tick(deployment, first_item, engineer)
        expected = "was ticked by erin"
    else:
        _tick(deployment, first_item, engineer, state="na", reason="No database change")
        expected = "was marked N/A by erin"
    signoff = SignOff.objects.get()
    assert signoff.status == "stale" and signoff.stale_reason.endswith(expected)


def test_a_sub_check_change_makes_a_sign_off_stale(deployment, engineer, approver, sign):
    sub = RunSubCheck.objects.filter(item__deployment=deployment).order_by("pk").first()
    sign(approver, "QA Lead")
    set_subcheck_state(
        deployment_id=deployment.pk,
        subcheck_id=sub.pk,
        done=True,
        expected_version=1,
        user=engineer,
    )
    signoff = SignOff.objects.get()
    assert signoff.status == "stale"
    assert signoff.stale_reason == f"“{sub.title}” (under “{sub.item.title}”) was ticked by erin"


def test_a_note_or_a_no_op_tick_keeps_sign_offs_valid(
    deployment, engineer, approver, first_item, sign
):
    _tick(deployment, first_item, engineer)
    sign(approver, "QA Lead")
    _tick(deployment, first_item, engineer)  # retried tick: no change
    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="All good", user=engineer
    )
    assert SignOff.objects.get().status == "valid"


def test_only_valid_sign_offs_go_stale(
    deployment, engineer, approver, backup, first_item, sign, django_capture_on_commit_callbacks
):
    sign(approver, "QA Lead")
    sign(backup, "QA Lead")  # supersedes quinn's
    with django_capture_on_commit_callbacks(execute=True):
        _tick(deployment, first_item, engineer)
    assert dict(SignOff.objects.values_list("signer__username", "status")) == {
        "quinn": "superseded",
        "bob": "stale",
    }
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_a_change_without_valid_sign_offs_takes_one_sequence_number(
    deployment, engineer, first_item
):
    before = deployment.seq
    change = _tick(deployment, first_item, engineer)
    deployment.refresh_from_db()
    assert change.seq == deployment.seq == before + 1
    assert not AuditEvent.objects.filter(action="signoff.stale").exists()


def test_signing_again_after_stale_gives_a_valid_sign_off(
    deployment, engineer, approver, first_item, sign
):
    sign(approver, "QA Lead")
    _tick(deployment, first_item, engineer)
    sign(approver, "QA Lead")
    assert sorted(SignOff.objects.values_list("status", flat=True)) == ["stale", "valid"]
