"""Changes: items (by key), sub-checks, notes, the status, and readings.

Each calls the service the page calls (runs.services, gonogo.services) with
the request, which carries the token's provenance; a refusal becomes a
problem (main.py), a 409 with the object as it is now.
"""

from ninja import Router, Status

from deploychecks.api import present, schemas
from deploychecks.api.auth import deployment_for, need, with_ci
from deploychecks.api.models import Scope
from deploychecks.core.errors import NoAccess, RunError, StaleVersion
from deploychecks.gonogo.services import record_reading
from deploychecks.runs import services
from deploychecks.runs.models import RunItem, RunSubCheck

router = Router(tags=["changes"])
CHANGE_ERRORS = {400: schemas.Problem, 403: schemas.Problem, 404: schemas.Problem}
CONFLICT = {**CHANGE_ERRORS, 409: schemas.Problem}


def find_item(deployment, ref: str) -> RunItem:
    """An item by its key, or else by its id (a key always wins)."""
    items = present.items_queryset().filter(deployment=deployment)
    item = items.filter(key=ref).first()
    if item is None and ref.isdecimal() and len(ref) < 19:
        item = items.filter(pk=int(ref)).first()
    if item is None:
        raise NoAccess(f"No item “{ref[:80]}” in this deployment.")
    return item


def _item_now(item_id: int) -> dict:
    return present.item(present.items_queryset().get(pk=item_id))


def _refused(exc: RunError, current: dict | None) -> RunError:
    if isinstance(exc, StaleVersion | services.IllegalTransition):
        exc.api_current = current
    return exc


@router.post(
    "/{deployment_id}/items/{item}/state",
    response={200: schemas.ItemChangeOut, **CONFLICT},
    summary="Set an item done, open or N/A (with the version you saw)",
)
def set_item_state(
    request, deployment_id: schemas.Id, item: schemas.ItemRef, payload: schemas.ItemStateIn
):
    need(request, Scope.TICK)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    run_item = find_item(deployment, item)
    with_ci(request, payload.ci, payload.evidence_url)
    try:
        change = services.set_item_state(
            deployment_id=deployment.pk,
            item_id=run_item.pk,
            state=payload.state,
            expected_version=payload.expected_version,
            reason=payload.reason,
            user=request.api_token.user,
            request=request,
        )
    except RunError as exc:
        raise _refused(exc, _item_now(run_item.pk)) from None
    return {"changed": change.changed, "seq": change.seq, "item": _item_now(run_item.pk)}


@router.post(
    "/{deployment_id}/items/{item}/subchecks/{position}/state",
    response={200: schemas.ItemChangeOut, **CONFLICT},
    summary="Tick or reopen a sub-check (by its position under the item)",
)
def set_subcheck_state(
    request,
    deployment_id: schemas.Id,
    item: schemas.ItemRef,
    position: schemas.Position,
    payload: schemas.SubCheckStateIn,
):
    need(request, Scope.TICK)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    run_item = find_item(deployment, item)
    sub = RunSubCheck.objects.filter(item=run_item, position=position).first()
    if sub is None:
        raise NoAccess(f"“{run_item.key}” has no sub-check {position}.")
    with_ci(request, payload.ci)
    try:
        change = services.set_subcheck_state(
            deployment_id=deployment.pk,
            subcheck_id=sub.pk,
            done=payload.done,
            expected_version=payload.expected_version,
            user=request.api_token.user,
            request=request,
        )
    except RunError as exc:
        raise _refused(exc, _item_now(run_item.pk)) from None
    return {"changed": change.changed, "seq": change.seq, "item": _item_now(run_item.pk)}


@router.post(
    "/{deployment_id}/items/{item}/notes",
    response={201: schemas.NoteChangeOut, **CHANGE_ERRORS, 422: schemas.Problem},
    summary="Add a note or a deviation to an item, or a reply to one of its notes",
    description="`reply_to` names a note of the same item (400 if it is not one, or "
    "was deleted). Each @name in the body must be the lead or a participant of the "
    "deployment: they are told once (page toast and bell, email). Any other @name "
    "refuses the note with 422 `mention-refused`, and nothing is saved.",
)
def add_note(request, deployment_id: schemas.Id, item: schemas.ItemRef, payload: schemas.NoteIn):
    need(request, Scope.TICK)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    run_item = find_item(deployment, item)
    with_ci(request, payload.ci)
    change = services.add_item_note(
        deployment_id=deployment.pk,
        item_id=run_item.pk,
        body=payload.body,
        kind=payload.kind,
        user=request.api_token.user,
        request=request,
        reply_to_id=payload.reply_to,
    )
    return Status(201, {"changed": True, "seq": change.seq, "note": present.note(change.obj)})


@router.post(
    "/{deployment_id}/status",
    response={200: schemas.StatusChangeOut, **CONFLICT},
    summary="Move the deployment to another status, through its gate (never past it)",
)
def change_status(request, deployment_id: schemas.Id, payload: schemas.StatusIn):
    need(request, Scope.TRANSITION)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    with_ci(request, payload.ci)
    try:
        change = services.change_status(
            deployment_id=deployment.pk,
            to=payload.to,
            user=request.api_token.user,
            reason=payload.reason,
            acknowledgement=payload.acknowledgement,
            request=request,
        )
    except RunError as exc:
        deployment.refresh_from_db()
        raise _refused(exc, present.summary(deployment, request)) from None
    return {"changed": change.changed, "seq": change.seq, "status": change.obj.status}


@router.post(
    "/{deployment_id}/readings",
    response={201: schemas.ReadingOut, **CHANGE_ERRORS, 409: schemas.Problem},
    summary="Record a go/no-go reading of a signal",
)
def add_reading(request, deployment_id: schemas.Id, payload: schemas.ReadingIn):
    need(request, Scope.TICK)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    with_ci(request, payload.ci)
    reading = record_reading(
        deployment_id=deployment.pk,
        signal_name=payload.signal,
        value=payload.value,
        observed_at=payload.observed_at,
        note=payload.note,
        user=request.api_token.user,
        request=request,
    )
    signal = reading.signal
    signal.refresh_from_db(fields=["grade"])
    return Status(
        201,
        {
            "id": reading.pk,
            "signal": signal.name,
            "value": reading.value,
            "observed_at": reading.observed_at,
            "grade": str(signal.grade) if signal.grade else None,
        },
    )
