"""The gate: open, or the unmet conditions, as the run page's gate panel lists them.

`wait` > 0 is served by the long poll (api/longpoll.py), an async path that
holds no thread while it waits; it takes over such requests before Django's
threaded handler sees them. This view answers at once (wait=0), and is what
the OpenAPI document describes for both.
"""

from django.conf import settings
from ninja import Field, Query, Router, Schema

from deploychecks.api import present, schemas
from deploychecks.api.auth import deployment_for, need
from deploychecks.api.models import Scope

router = Router(tags=["gate"])


class GateQuery(Schema):
    target: schemas.GateTarget = Field(..., alias="for")
    wait: int = Field(
        0,
        ge=0,
        le=settings.API_GATE_WAIT_MAX_SECONDS,
        description="Seconds to wait for the gate to open before answering (a long poll)",
    )


@router.get(
    "/{deployment_id}/gate",
    response={200: schemas.GateOut, 404: schemas.Problem},
    summary="Is the gate to go live (or to complete) open? Optionally wait for it.",
    by_alias=True,
)
def get_gate(request, deployment_id: schemas.Id, query: Query[GateQuery]):
    need(request, Scope.READ)
    deployment, _ = deployment_for(request, deployment_id)
    return present.gate_answer(deployment, query.target)
