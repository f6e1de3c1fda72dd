"""What go/no-go and rollback do when a deployment changes (registered in apps.py)."""

from deploychecks.gonogo import definitions, panel
from deploychecks.runs import access, hooks


def copy_signals(event: hooks.Created) -> None:
    """A new deployment gets its own copy of the revision's signals."""
    definitions.copy_signals_to_deployment(event.deployment, event.revision)


def run_page_panels(page: hooks.RunPage) -> None:
    """The signals panel and, during or after a rollback, the rollback view.

    A rollback's step timings follow the clock, so then the page renders its
    phases itself (rollback mode puts the rollback phase first).
    """
    signals = panel.panel_context(page.deployment, editable=access.can_edit(page.role))
    phases = [] if signals["rollback_episode"] is None else page.load_phases()
    page.context.update(panel.page_context(page.deployment, page.role, phases, signals=signals))
