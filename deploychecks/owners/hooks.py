"""What owners do when a deployment changes (registered in apps.py)."""

from deploychecks.owners import services
from deploychecks.owners.directory import Directory
from deploychecks.owners.panel import panel_context
from deploychecks.reminders.events import Dispatching
from deploychecks.runs import hooks


def start_phase(event: hooks.ItemChanged) -> None:
    services.start_phase(event.item)


def owner_may_change(event: hooks.ItemAccess) -> bool:
    """An item's owners may tick it, mark it N/A and tick its sub-checks, whatever
    their role on the deployment (an approver who owns it as @qa-lead, say)."""
    actor = event.actor
    if actor is None or not event.item.owners:
        return False
    return Directory.of(event.deployment).owns(actor, event.item.owners)


def run_page_panel(page: hooks.RunPage) -> None:
    page.context.update(panel_context(page))


def remind_overdue(event: Dispatching) -> None:
    services.remind_overdue(event.now)
