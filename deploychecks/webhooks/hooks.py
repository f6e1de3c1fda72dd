"""What webhooks do when a deployment changes: write the event into the outbox.

Connected in apps.py to runs.hooks and to the features' own events (sign-offs,
go/no-go, reminders). Each runs inside the transaction of the change with the
deployment row locked, so an event is written if and only if its change
commits, numbered in the order the changes happened.
"""

from deploychecks.gonogo import events as gonogo
from deploychecks.reminders import events as reminders
from deploychecks.runs import hooks
from deploychecks.signoffs import events as signoffs
from deploychecks.statusupdates import events as statusupdates
from deploychecks.webhooks import gates, outbox, payloads


def deployment_created(event: hooks.Created) -> None:
    outbox.record(event.deployment, "deployment.created", lambda: payloads.created(event))


def status_changed(change: hooks.StatusChange) -> None:
    outbox.record(
        change.deployment, "deployment.status_changed", lambda: payloads.status_changed(change)
    )


def judge_new_gate(change: hooks.StatusChange) -> None:
    """A new status has a new next gate: told at once if it is already open."""
    gates.judge(change.deployment, new_gate=True)


def item_changed(event: hooks.ItemChanged) -> None:
    outbox.record(event.deployment, "item.changed", lambda: payloads.item_changed(event))


def judge_gate_after_item(event: hooks.ItemChanged) -> None:
    """Connected last: after the features' own handlers (sign-offs going stale)."""
    gates.judge(event.deployment)


def signoff_changed(event: signoffs.SignoffChanged) -> None:
    outbox.record(event.deployment, "signoff.changed", lambda: payloads.signoff_changed(event))
    # A stale sign-off only ever closes a gate (and comes with an item change,
    # whose own handler judges the gate after it).
    if event.signoff.status != "stale":
        gates.judge(event.deployment)


def verdict_changed(event: gonogo.VerdictChanged) -> None:
    outbox.record(event.deployment, "verdict.changed", lambda: payloads.verdict_changed(event))
    gates.judge(event.deployment)


def rollback_started(event: hooks.Event) -> None:
    outbox.record(event.deployment, "rollback.started", lambda: payloads.rollback_started(event))


def rollback_step_done(event: gonogo.RollbackStepDone) -> None:
    outbox.record(
        event.deployment, "rollback.step_done", lambda: payloads.rollback_step_done(event)
    )


def rollback_finished(event: gonogo.RollbackFinished) -> None:
    outbox.record(event.deployment, "rollback.finished", lambda: payloads.rollback_finished(event))


def reminder_sent(event: reminders.ReminderSent) -> None:
    outbox.record(event.deployment, "reminder.sent", lambda: payloads.reminder_sent(event))


def status_update_posted(event: statusupdates.UpdatePosted) -> None:
    outbox.record(
        event.deployment, "status_update.posted", lambda: payloads.status_update_posted(event)
    )
