"""What reminders do when a deployment's status changes (registered in apps.py)."""

from deploychecks.reminders import services
from deploychecks.runs import hooks


def schedule(change: hooks.StatusChange) -> None:
    """Going live creates the deployment's reminder rows from its revision's rules."""
    services.schedule_for(change.deployment, user=change.actor, request=change.request)


def cancel(change: hooks.StatusChange) -> None:
    """Completed, rolled back or aborted: what has not gone out is cancelled."""
    services.cancel_pending(change.deployment, user=change.actor, request=change.request)


def close_overdue(event: hooks.ItemChanged) -> None:
    """An item ticked or marked N/A: its overdue reminder is done with."""
    item = event.item
    if event.subcheck is None and item.state != item.State.OPEN:
        services.close_overdue(event.deployment, item, user=event.actor, request=event.request)
