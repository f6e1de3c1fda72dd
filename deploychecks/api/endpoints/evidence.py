"""Evidence: a link added to an item (a CI run, a dashboard, a ticket).

The same service as the run page's "Add evidence" form (deploychecks.evidence);
an item marked "evidence required" can then be ticked. A tick that carries
`evidence_url` counts as evidence too, and leaves that link on the item.
"""

from ninja import Router, Status

from deploychecks.api import present, schemas
from deploychecks.api.auth import deployment_for, need, with_ci
from deploychecks.api.endpoints.changes import CHANGE_ERRORS, find_item
from deploychecks.api.models import Scope
from deploychecks.evidence import services

router = Router(tags=["changes"])


@router.post(
    "/{deployment_id}/items/{item}/evidence",
    response={201: schemas.EvidenceChangeOut, **CHANGE_ERRORS},
    summary="Add a link as evidence to an item (never fetched by the server)",
)
def add_evidence_link(
    request, deployment_id: schemas.Id, item: schemas.ItemRef, payload: schemas.EvidenceLinkIn
):
    need(request, Scope.TICK)
    deployment, _ = deployment_for(request, deployment_id, change=True)
    run_item = find_item(deployment, item)
    with_ci(request, payload.ci)
    change = services.add_link(
        deployment_id=deployment.pk,
        item_id=run_item.pk,
        url=payload.url,
        title=payload.title,
        user=request.api_token.user,
        request=request,
    )
    return Status(
        201, {"changed": True, "seq": change.seq, "evidence": present.evidence(change.obj)}
    )
