"""A deployment's audit timeline, newest first, a page at a time."""

import math

from ninja import Field, Query, Router, Schema

from deploychecks.api import schemas
from deploychecks.api.auth import deployment_for, need
from deploychecks.api.models import Scope
from deploychecks.audit.models import AuditEvent

router = Router(tags=["audit"])


class AuditQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(100, ge=1, le=500)


@router.get(
    "/{deployment_id}/audit",
    response={200: schemas.AuditPage, 404: schemas.Problem},
    summary="The deployment's audit events, newest first",
)
def audit_timeline(request, deployment_id: schemas.Id, query: Query[AuditQuery]):
    need(request, Scope.READ)
    deployment, _ = deployment_for(request, deployment_id)
    events = AuditEvent.objects.filter(deployment=deployment).order_by("-created_at", "-id")
    count = events.count()
    start = (query.page - 1) * query.per_page
    return {
        "count": count,
        "page": query.page,
        "pages": max(1, math.ceil(count / query.per_page)),
        "results": [
            {
                "id": e.pk,
                "seq": e.seq,
                "created_at": e.created_at,
                "actor": e.actor_name or None,
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "target": e.target_repr,
                "before": e.before,
                "after": e.after,
                "via": e.via,
            }
            for e in events[start : start + query.per_page]
        ],
    }
