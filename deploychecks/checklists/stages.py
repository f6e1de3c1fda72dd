"""Where each phase sits relative to go-live, and how long monitoring lasts.

Read from the template's own words at import ("Pre-Deployment Verification (48
hours before)", "Post-Deployment Validation", "Extended Monitoring (72 hours)",
"Rollback Procedure"), kept on the revision, and editable there: they decide what
going live and completing a deployment need (runs.gates).
"""

import re

from deploychecks.checklists.models import Phase, Stage, TemplateRevision

_ROLLBACK = re.compile(r"roll\s*-?\s*back", re.IGNORECASE)
# Words that put a phase after go-live; every later phase (but a rollback) follows it.
_AFTER = re.compile(
    r"\b(post[\s-]*(?:deploy\w*|release|launch|go[\s-]*live)|after|monitor\w*|"
    r"stabili[sz]\w*|hypercare|observation|follow[\s-]*up)\b",
    re.IGNORECASE,
)
_HOURS = re.compile(r"(\d+)\s*(?:-\s*(\d+)\s*)?(hours?|hrs?|h|days?)\b", re.IGNORECASE)


def infer_stages(phases: list[tuple[str, str]]) -> list[str]:
    """The stage of each (title, timing label), in order."""
    stages, after = [], False
    for title, timing in phases:
        if _ROLLBACK.search(title):
            stages.append(Stage.ROLLBACK)
            continue
        after = after or bool(_AFTER.search(f"{title} {timing}"))
        stages.append(Stage.AFTER if after else Stage.BEFORE)
    return stages


def stated_hours(text: str) -> int | None:
    """The longest time a label states, in hours ("(48-72 hours)" → 72, "3 days" → 72)."""
    found = []
    for match in _HOURS.finditer(text or ""):
        amount = int(match.group(2) or match.group(1))
        found.append(amount * 24 if match.group(3).lower().startswith("d") else amount)
    return max(found, default=None)


def monitoring_hours(phases: list[tuple[str, str]], stages: list[str]) -> int | None:
    """The monitoring window: the longest time stated by a phase after go-live."""
    hours = [
        stated_hours(f"{title} {timing}")
        for (title, timing), stage in zip(phases, stages, strict=True)
        if stage == Stage.AFTER
    ]
    return max((h for h in hours if h), default=None)


def settle_gates(revision: TemplateRevision) -> None:
    """Give a new revision its stages, its window and its go-live sign-offs.

    Read from the words, except where an admin changed the previous revision's
    reading (a stage, the window): that choice carries over, phase by phase
    (matched by title); so do the sign-offs marked as needed before go-live.
    """
    phases = list(revision.phases.order_by("position"))
    labels = [(p.title, p.timing_label) for p in phases]
    for phase, stage in zip(phases, infer_stages(labels), strict=True):
        phase.stage = stage
    hours = monitoring_hours(labels, [p.stage for p in phases])
    previous = (
        TemplateRevision.objects.filter(
            template_id=revision.template_id, number__lt=revision.number
        )
        .order_by("-number")
        .first()
    )
    if previous is not None:
        edited, previous_hours = _edits(previous)
        for phase in phases:
            phase.stage = edited.get(phase.title, phase.stage)
        if previous_hours is not _UNCHANGED:
            hours = previous_hours
        kept = previous.signoff_roles.filter(before_go_live=True).values_list("name", flat=True)
        revision.signoff_roles.filter(name__in=list(kept)).update(before_go_live=True)
    Phase.objects.bulk_update(phases, ["stage"])
    revision.monitoring_hours = hours
    revision.save(update_fields=["monitoring_hours"])


_UNCHANGED = object()


def _edits(revision: TemplateRevision):
    """What an admin changed on `revision` from what its words say: {title: stage},
    and its window (or _UNCHANGED)."""
    phases = list(
        revision.phases.order_by("position").values_list("title", "timing_label", "stage")
    )
    labels = [(title, timing) for title, timing, _ in phases]
    inferred = infer_stages(labels)
    edited = {
        title: stage
        for (title, _, stage), guess in zip(phases, inferred, strict=True)
        if stage != guess
    }
    guess_hours = monitoring_hours(labels, [stage for _, _, stage in phases])
    hours = revision.monitoring_hours if revision.monitoring_hours != guess_hours else _UNCHANGED
    return edited, hours
