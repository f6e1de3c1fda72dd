"""Go/no-go signals of a template revision: made on first use, edited by admins.

Creating a deployment copies them (`copy_signals_to_deployment`), so editing
thresholds later never changes a running deployment.
"""

import logging
import math

from django.db import transaction

from deploychecks.audit.services import record_event
from deploychecks.checklists.models import TemplateRevision
from deploychecks.checklists.parser import ParsedSignal
from deploychecks.checklists.services import markdown_signals
from deploychecks.core.errors import NotAllowed
from deploychecks.gonogo import grading
from deploychecks.gonogo.errors import SignalError
from deploychecks.gonogo.models import THRESHOLD_FIELDS, DeploymentSignal, SignalDefinition
from deploychecks.runs.models import Deployment

logger = logging.getLogger(__name__)


def definitions_for(revision) -> list[SignalDefinition]:
    """The revision's signals; made on first use for a revision that has none yet.

    They come from the threshold table of the revision's Markdown (the importer's
    parsed signals). A new revision whose Markdown leaves the signals as the
    previous revision wrote them, or has none, keeps the previous revision's
    signals, with any edits admins made to them.
    """
    existing = list(SignalDefinition.objects.filter(revision=revision))
    if existing:
        return existing
    with transaction.atomic():
        # Two deployments created at once from a new revision must not both copy.
        locked = TemplateRevision.objects.select_for_update().get(pk=revision.pk)
        existing = list(SignalDefinition.objects.filter(revision=locked))
        if existing:
            return existing
        return SignalDefinition.objects.bulk_create(
            SignalDefinition(revision=locked, **row) for row in _rows_for(locked)
        )


def _rows_for(revision) -> list[dict]:
    written = markdown_signals(revision.source_markdown)
    earlier = (
        TemplateRevision.objects.filter(
            template_id=revision.template_id,
            number__lt=revision.number,
            signal_definitions__isnull=False,
        )
        .order_by("-number")
        .first()
    )
    if earlier is not None and (
        not written
        or _as_written(written) == _as_written(markdown_signals(earlier.source_markdown))
    ):
        return [d.threshold_fields() for d in SignalDefinition.objects.filter(revision=earlier)]
    rows = []
    for signal in written:
        try:
            rows.append(clean_definition(_fields_of(signal), len(rows) + 1))
        except SignalError:
            # The importer checks what grading.validate checks; this only guards the
            # database constraints should the two ever differ.
            logger.warning("signal %r of revision %s not created", signal.name, revision.pk)
    return rows


def _as_written(signals: list[ParsedSignal]) -> list[dict]:
    return [_fields_of(s) for s in signals]


def _fields_of(signal: ParsedSignal) -> dict:
    return {f: getattr(signal, f) for f in THRESHOLD_FIELDS if f != "position"}


def parsed_signals(revision) -> list[ParsedSignal]:
    """The revision's current signals as the importer's specs (for the exporter)."""
    return [
        ParsedSignal(**{f: getattr(d, f) for f in THRESHOLD_FIELDS if f != "position"})
        for d in definitions_for(revision)
    ]


def copy_signals_to_deployment(deployment: Deployment, revision) -> None:
    """Called by runs.services.create_deployment: the deployment's own copy."""
    DeploymentSignal.objects.bulk_create(
        DeploymentSignal(deployment=deployment, **d.threshold_fields())
        for d in definitions_for(revision)
    )


def _float_or_none(value, label: str, number: int) -> float | None:
    if value in (None, ""):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        raise SignalError(f"Signal {number}: the {label} must be a number.") from None
    if not math.isfinite(result):
        raise SignalError(f"Signal {number}: the {label} must be a finite number.")
    return result


def clean_definition(row: dict, number: int) -> dict:
    """One signal row from a form or a test, checked; raises SignalError."""
    name = str(row.get("name") or "").strip()
    if not name:
        raise SignalError(f"Signal {number} needs a name.")
    if len(name) > 80:
        raise SignalError(f"Signal {number}: the name is too long (at most 80 characters).")
    kind = row.get("kind") or "number"
    if kind not in ("number", "boolean"):
        raise SignalError(f"Signal {number} ({name}): unknown kind {kind!r}.")
    sustained = row.get("sustained_minutes")
    if sustained in (None, ""):
        sustained = None
    else:
        try:
            sustained = int(sustained)
        except (TypeError, ValueError):
            raise SignalError(
                f"Signal {number} ({name}): the sustained duration must be a "
                "whole number of minutes."
            ) from None
    cleaned = {
        "position": number,
        "name": name,
        "unit": str(row.get("unit") or "").strip()[:40],
        "kind": kind,
        "direction": row.get("direction") or grading.ABOVE,
        "yellow_at": _float_or_none(row.get("yellow_at"), "yellow threshold", number),
        "yellow_inclusive": bool(row.get("yellow_inclusive")),
        "red_at": _float_or_none(row.get("red_at"), "red threshold", number),
        "red_inclusive": bool(row.get("red_inclusive")),
        "sustained_minutes": sustained,
    }
    thresholds = grading.Thresholds(
        direction=cleaned["direction"],
        yellow=cleaned["yellow_at"],
        yellow_inclusive=cleaned["yellow_inclusive"],
        red=cleaned["red_at"],
        red_inclusive=cleaned["red_inclusive"],
        sustained_minutes=sustained,
    )
    errors = grading.validate(thresholds)
    if errors:
        raise SignalError(f"Signal {number} ({name}): " + " ".join(errors))
    return cleaned


@transaction.atomic
def save_signal_definitions(*, revision, rows, user, request=None) -> bool:
    """Replace the revision's signals with `rows` (mappings of the signal fields).

    Running deployments keep their copies. Returns False when nothing changed.
    """
    if not user.has_perm("checklists.add_checklisttemplate"):
        raise NotAllowed("Only template administrators can change thresholds.")
    cleaned = [clean_definition(row, n) for n, row in enumerate(rows, start=1)]
    names = [c["name"].lower() for c in cleaned]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SignalError(
            "Each signal needs its own name; used twice: " + ", ".join(duplicates) + "."
        )
    current = [d.threshold_fields() for d in definitions_for(revision)]
    if current == cleaned:
        return False
    SignalDefinition.objects.filter(revision=revision).delete()
    SignalDefinition.objects.bulk_create(SignalDefinition(revision=revision, **c) for c in cleaned)
    record_event(
        action="signals.changed",
        actor=user,
        target=revision,
        before={"signals": current},
        after={"signals": cleaned},
        request=request,
    )
    return True
