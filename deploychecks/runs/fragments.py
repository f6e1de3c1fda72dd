"""Loading a deployment for display, and rendering its live fragments.

The run page and every broadcast use the same named partials of
templates/runs/detail.html, so what arrives live equals what a reload shows.
"""

from django.core.cache import cache
from django.db.models import (
    IntegerField,
    OuterRef,
    Prefetch,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from deploychecks.core.render_cache import deployment_key
from deploychecks.realtime.broadcast import run_event
from deploychecks.runs import access, hooks
from deploychecks.runs.models import Deployment, ItemNote, RunItem, RunPhase, RunSubCheck

PARTIALS = "runs/detail.html"


def _item_prefetches() -> list[Prefetch]:
    """An item row's sub-checks and notes, in display order."""
    return [
        Prefetch("subchecks", queryset=RunSubCheck.objects.order_by("position")),
        Prefetch("notes", queryset=ItemNote.objects.order_by("created_at", "pk")),
        # The features' rows an item shows (deploychecks.evidence).
        *hooks.item_rows.send(None),
    ]


def _items_queryset():
    return RunItem.objects.order_by("position").prefetch_related(*_item_prefetches())


def load_checklist(deployment: Deployment, items=None) -> list[RunPhase]:
    """Phases with sections, steps, items, sub-checks and notes in a fixed number of queries.

    `items`, if given, is the queryset the phases' items come from instead.
    """
    items = _items_queryset() if items is None else items
    phases = list(
        RunPhase.objects.filter(deployment=deployment)
        .order_by("position")
        .prefetch_related("sections", "steps", Prefetch("items", queryset=items))
    )
    for phase in phases:
        arrange(phase)
    return phases


def arrange(phase: RunPhase) -> None:
    """Group the phase's items under its sections and steps, in document order."""
    items = list(phase.items.all())
    steps = {s.pk: s for s in phase.steps.all()}
    for step in steps.values():
        step.run_items = [i for i in items if i.step_id == step.pk]
    containers = {None: phase, **{s.pk: s for s in phase.sections.all()}}
    for container in containers.values():
        container.entries = []
    loose = [i for i in items if i.step_id is None]
    for entry in sorted([*loose, *steps.values()], key=lambda e: e.position):
        containers[entry.section_id].entries.append(entry)
    phase.progress = progress(items)


def checklist_phases(deployment: Deployment, can_edit: bool) -> tuple[str, dict]:
    """The phases of the run page as HTML, and the overall progress, from the cache.

    Every change to a deployment's checklist takes a new sequence number, so
    the rendered phases are cached under it (with the status and whether the
    viewer may edit: the only other inputs). Times in them are absolute and
    made relative by the browser ({% reltime %}); a rollback's step timings
    do depend on the clock, which is why rollback mode does not come here.
    """
    key = deployment_key(
        "run-phases", PARTIALS, deployment, deployment.seq, deployment.status, int(can_edit)
    )
    cached = cache.get(key)
    if cached is not None:
        html, overall = cached
        return mark_safe(html), overall  # noqa: S308  rendered by our own template
    phases = _load_outline(deployment)
    _attach_item_html(deployment, phases, can_edit)
    overall = overall_progress(phases)
    html = render_to_string(
        f"{PARTIALS}#phases",
        {
            "deployment": deployment,
            "phases": phases,
            "current": current_phase(phases, deployment),
            "can_edit": can_edit,
            "rollback_mode": False,
        },
    )
    cache.set(key, (str(html), overall), timeout=PHASES_CACHE_SECONDS)
    return mark_safe(html), overall  # noqa: S308


PHASES_CACHE_SECONDS = 15 * 60
ITEM_CACHE_SECONDS = 60 * 60


def _load_outline(deployment: Deployment) -> list[RunPhase]:
    """Like load_checklist, but each item carries its cache signature instead of
    its sub-checks and notes (which only the items missing from the cache need)."""

    def per_item(queryset, aggregate):
        return Coalesce(
            Subquery(
                queryset.filter(item=OuterRef("pk"))
                .order_by()
                .values("item")
                .annotate(v=aggregate)
                .values("v")
            ),
            0,
            output_field=IntegerField(),
        )

    return load_checklist(
        deployment,
        items=RunItem.objects.order_by("position").annotate(
            sub_signature=per_item(RunSubCheck.objects, Sum("version")),
            note_signature=per_item(ItemNote.objects, Sum("version")),
        ),
    )


def _item_key(
    deployment: Deployment,
    item: RunItem,
    sub_signature: int,
    note_signature: int,
    can_edit: bool,
) -> str:
    """An item row changes only with its version, its owners' version (owners, due
    time, overdue), a sub-check's version (their sum only grows) or a note's
    (added, edited or deleted: the sum of their versions only grows)."""
    return deployment_key(
        "run-item",
        PARTIALS,
        deployment,
        item.pk,
        item.version,
        item.assign_version,
        sub_signature,
        note_signature,
        int(can_edit),
    )


def _attach_item_html(deployment: Deployment, phases: list[RunPhase], can_edit: bool) -> None:
    """Set `item.html` on every item: from the cache, else rendered (and cached).

    After a tick the changed row is usually in the cache already: the tick's
    broadcast rendered it (item_fragments), so the page renders no item at all.
    """
    items = {
        _item_key(deployment, i, i.sub_signature, i.note_signature, can_edit): i
        for p in phases
        for i in p.items.all()
    }
    found = cache.get_many(list(items))
    missing = [item for key, item in items.items() if key not in found]
    prefetch_related_objects(missing, *_item_prefetches())
    rendered = {}
    for key, item in items.items():
        if key not in found:
            found[key] = rendered[key] = str(
                render_to_string(
                    f"{PARTIALS}#item",
                    {"deployment": deployment, "item": item, "can_edit": can_edit},
                )
            )
        item.html = mark_safe(found[key])  # noqa: S308  rendered by our own template
    cache.set_many(rendered, timeout=ITEM_CACHE_SECONDS)


def progress(items) -> dict:
    total = len(items)
    done = sum(1 for i in items if i.state == RunItem.State.DONE)
    na = sum(1 for i in items if i.state == RunItem.State.NA)
    applicable = total - na
    return {
        "total": total,
        "done": done,
        "na": na,
        "open": total - done - na,
        "percent": round(100 * done / applicable) if applicable else 100,
    }


def overall_progress(phases) -> dict:
    return progress([i for p in phases for i in p.items.all()])


def current_phase(phases, deployment):
    """The first phase with open items (ignoring the rollback phase unless rolling
    back); none once the deployment has finished (completed past open items by an
    override, rolled back or aborted: no phase is under way)."""
    if deployment.is_finished:
        return None
    for phase in phases:
        if not phase.is_rollback and phase.progress["open"]:
            return phase
    return None


def item_fragments(
    deployment: Deployment | int, item_id: int, item: RunItem | None = None
) -> dict[str, str]:
    """The item row, its phase's progress and the overall bar, editable and read-only.

    The editable variant is also the tick's HTTP response (see views.item_state),
    so one render serves the writer and every viewer. `item`, if given, is the
    row as just saved, with its phase loaded: only its sub-checks and notes
    are read again.
    """
    if not isinstance(deployment, Deployment):
        deployment = Deployment.objects.get(pk=deployment)
    if item is None:
        item = _items_queryset().select_related("phase").get(pk=item_id)
    else:
        prefetch_related_objects([item], *_item_prefetches())
    # One query for both bars; order_by() drops the Meta ordering's joins.
    states = list(
        RunItem.objects.filter(deployment_id=deployment.pk)
        .order_by()
        .values_list("phase_id", "state")
    )
    phase = item.phase
    phase.progress = _progress_from_states(s for p, s in states if p == item.phase_id)
    overall = _progress_from_states(s for _, s in states)
    sub_signature = sum(sub.version for sub in item.subchecks.all())
    note_signature = sum(note.version for note in item.notes.all())
    html, rows = {}, {}
    for variant, editable in (("html_edit", True), ("html_read", False)):
        can_edit = editable and not deployment.is_finished
        context = {
            "deployment": deployment,
            "item": item,
            "phase": phase,
            "overall": overall,
            "can_edit": can_edit,
            "oob": True,
        }
        row = str(render_to_string(f"{PARTIALS}#item", context))
        # The run page's next render takes this row instead of rendering it again.
        rows[_item_key(deployment, item, sub_signature, note_signature, can_edit)] = row
        html[variant] = row + "".join(
            render_to_string(f"{PARTIALS}#{name}", context)
            for name in ("phase-progress", "overall-progress")
        )
    cache.set_many(rows, timeout=ITEM_CACHE_SECONDS)
    return html


def item_message(
    deployment: Deployment | int,
    item_id: int,
    seq: int,
    kind: str,
    fragments: dict[str, str] | None = None,
) -> dict:
    """One websocket broadcast: the item's fragments (see item_fragments)."""
    deployment_id = deployment if isinstance(deployment, int) else deployment.pk
    if fragments is None:
        fragments = item_fragments(deployment, item_id)
    return run_event(
        seq=seq, kind=kind, allowed=access.allowed_user_ids(deployment_id), **fragments
    )


def _progress_from_states(states) -> dict:
    class _S:
        def __init__(self, state):
            self.state = state

    return progress([_S(s) for s in states])
