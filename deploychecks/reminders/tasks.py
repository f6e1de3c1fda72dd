"""Celery tasks of the reminders app: one, run by the one beat entry."""

from celery import shared_task

from deploychecks.reminders.dispatch import dispatch_due_reminders as _dispatch


@shared_task(name="deploychecks.reminders.tasks.dispatch_due_reminders", ignore_result=True)
def dispatch_due_reminders() -> dict:
    """Release due reminders, escalate, and deliver (see reminders.dispatch)."""
    report = _dispatch()
    return {
        "released": len(report.released),
        "missed": len(report.missed),
        "escalated": len(report.escalated),
        "sent": len(report.sent),
        "failed": len(report.failed),
    }
