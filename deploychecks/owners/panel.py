"""What the run page shows of owners: the panel (filter, the lead's form) and,
with "My items", only the items the viewer owns."""

from django.template.loader import render_to_string

from deploychecks.owners.directory import Directory
from deploychecks.runs import access
from deploychecks.runs.models import RunItem

MINE = "mine"


def panel_context(
    page, *, error: str = "", saved: str = "", typed=None, error_field: str = ""
) -> dict:
    deployment, user, request = page.deployment, page.request.user, page.request
    directory = Directory.of(deployment)
    rows = list(
        RunItem.objects.filter(deployment=deployment)
        .exclude(owners=[])
        .values_list("pk", "owners", "state", "overdue_since")
    )
    mine = {pk for pk, owners, _, _ in rows if directory.owns(user, owners)}
    overdue = sum(1 for _, _, state, since in rows if since and state == RunItem.State.OPEN)
    showing_mine = request.GET.get(MINE) == "1"
    if showing_mine:
        _only_mine(page, mine)
    is_lead = page.role == "lead" and not deployment.is_finished
    return {
        "owners_panel": {
            "mine": showing_mine,
            "mine_count": len(mine),
            "overdue": overdue,
            "can_assign": is_lead,
            "items": _choices(deployment) if is_lead else [],
            "error": error,
            # The field the error is about ("item", "owners", "due"): marked
            # invalid, described by the error and focused.
            "error_field": error_field if error else "",
            "saved": saved,
            "typed": typed or {},
        }
    }


def _choices(deployment) -> list:
    return list(
        RunItem.objects.filter(deployment=deployment)
        .order_by("phase__position", "position")
        .values_list("pk", "phase__title", "title")
    )


def _only_mine(page, mine: set[int]) -> None:
    """Keep only the viewer's items; an owner whose role cannot edit gets their
    own rows tickable (the services let owners tick, mark N/A and tick the
    sub-checks of what they own) without the notes form (notes are refused)."""
    phases = page.load_phases()
    editable = (
        not access.can_edit(page.role) and not page.deployment.is_finished and page.role is not None
    )
    for phase in phases:
        for container in [phase, *phase.sections.all()]:
            kept = []
            for entry in container.entries:
                if hasattr(entry, "run_items"):
                    entry.run_items = [i for i in entry.run_items if i.pk in mine]
                    if entry.run_items:
                        kept.append(entry)
                elif entry.pk in mine:
                    kept.append(entry)
            container.entries = kept
            if editable:
                for item in _items_of(kept):
                    item.html = render_to_string(
                        "runs/detail.html#item",
                        {
                            "deployment": page.deployment,
                            "item": item,
                            "can_edit": False,  # no notes: add_item_note refuses owners
                            "can_tick": True,
                        },
                    )


def _items_of(entries):
    for entry in entries:
        yield from (entry.run_items if hasattr(entry, "run_items") else [entry])
