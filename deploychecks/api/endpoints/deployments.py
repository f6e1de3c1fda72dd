"""Deployments: the history list's filters, starting one, and one in full."""

import math
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.db import transaction
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from deploychecks.accounts.people import can_create_deployments
from deploychecks.api import present, schemas
from deploychecks.api.auth import deployment_for, need, reachable, with_ci
from deploychecks.api.models import ApiToken, Scope
from deploychecks.checklists.models import ChecklistTemplate, TemplateRevision
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.history.filters import COLUMNS, HistoryFilterForm, filtered_deployments
from deploychecks.owners import services as owners
from deploychecks.runs import services
from deploychecks.runs.models import Deployment

router = Router(tags=["deployments"])
PER_PAGE = 50
SORTS = tuple(key for column in COLUMNS for key in (column, f"-{column}"))


# YYYY-MM-DD, checked again (as a date) by the history's form.
Day = Annotated[str, StringConstraints(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]


class DeploymentFilters(Schema):
    """The history list's filters (README, "History list")."""

    q: schemas.Text(200) = ""
    service: schemas.Text(120) = ""
    environment: schemas.Text(60) = ""
    outcome: Literal[
        "", "completed", "rolled_back", "aborted", "unfinished", "planned", "in_progress",
        "monitoring",
    ] = ""  # fmt: skip
    lead: int | None = Field(None, ge=1, le=2**63 - 1)
    from_: Day = Field("", alias="from")
    to: Day = ""
    sort: Literal[SORTS] = "-started"  # type: ignore[valid-type]
    page: int = Field(1, ge=1, le=1_000_000)


@router.get("", response=schemas.DeploymentPage, summary="Deployments, filtered as the history")
def list_deployments(request, filters: Query[DeploymentFilters]):
    token = need(request, Scope.READ)
    data = {
        name: value
        for name, value in {
            "q": filters.q,
            "service": filters.service,
            "environment": filters.environment,
            "outcome": filters.outcome,
            "lead": filters.lead,
            "from": filters.from_,
            "to": filters.to,
            "sort": filters.sort,
        }.items()
        if value not in (None, "")
    }
    form = HistoryFilterForm(data)
    if form.errors:
        raise RunError(" ".join(str(e) for errors in form.errors.values() for e in errors))
    deployments = filtered_deployments(reachable(token), form).select_related("lead")
    count = deployments.count()
    start = (filters.page - 1) * PER_PAGE
    return {
        "count": count,
        "page": filters.page,
        "pages": max(1, math.ceil(count / PER_PAGE)),
        "results": [present.summary(d, request) for d in deployments[start : start + PER_PAGE]],
    }


def _revision(name_or_id: str, number: int | None) -> TemplateRevision:
    templates = ChecklistTemplate.objects.all()
    template = templates.filter(name=name_or_id).first()
    if template is None and name_or_id.isdecimal():
        template = templates.filter(pk=int(name_or_id)).first()
    if template is None:
        raise NoAccess(f"No template named “{name_or_id[:80]}”.")
    revisions = template.revisions.order_by("-number")
    revision = revisions.first() if number is None else revisions.filter(number=number).first()
    if revision is None:
        raise NoAccess(f"“{template.name}” has no revision {number}.")
    return revision


def _lead(token: ApiToken, username: str):
    """Who leads the new deployment: the named person, or the token's person."""
    if not username:
        if token.kind == ApiToken.Kind.SERVICE:
            raise RunError("A service token names the deployment's lead (a username).")
        return token.user
    lead = get_user_model().objects.filter(username=username, is_active=True).first()
    if lead is None or not can_create_deployments(lead):
        raise RunError(
            f"“{username[:150]}” cannot lead a deployment: leads are people who may start "
            "deployments (the engineers group)."
        )
    return lead


@router.post(
    "",
    response={201: schemas.DeploymentOut, 403: schemas.Problem, 404: schemas.Problem},
    summary="Start a deployment from a template",
)
def create_deployment(request, payload: schemas.DeploymentIn):
    token = need(request, Scope.TRANSITION)
    if token.kind == ApiToken.Kind.PERSONAL and not can_create_deployments(token.user):
        raise NotAllowed("The person behind this token may not start deployments.")
    if not token.reaches(payload.service, payload.environment):
        raise NotAllowed(
            f"This token does not reach {payload.service[:120]} in {payload.environment[:60]}."
        )
    revision = _revision(payload.template, payload.revision)
    lead = _lead(token, payload.lead)
    with_ci(request, payload.ci)
    # Whoever starts it through the API works on it: a service account, or a
    # person who named someone else as lead.
    starters = [token.user] if token.user.pk != lead.pk else []
    # One transaction: an unknown item key or a bad owner refuses the whole deployment.
    with transaction.atomic():
        deployment = services.create_deployment(
            revision,
            user=token.user,
            release_name=payload.release_name or f"{payload.service} {payload.version}",
            version=payload.version,
            previous_version=payload.previous_version,
            service=payload.service,
            environment=payload.environment,
            planned_start=payload.planned_start,
            lead=lead,
            engineers=starters,
            request=request,
        )
        if payload.items:
            owners.assign_by_key(
                Deployment.objects.select_for_update().get(pk=deployment.pk),
                {
                    key: wanted.model_dump(exclude_unset=True)
                    for key, wanted in payload.items.items()
                },
                user=token.user,
                request=request,
            )
    deployment, _ = deployment_for(request, deployment.pk)
    return Status(201, present.detail(deployment, request))


@router.get(
    "/{deployment_id}",
    response={200: schemas.DeploymentOut, 404: schemas.Problem},
    summary="A deployment: phases, items, sub-checks, sign-offs, verdict and status",
)
def get_deployment(request, deployment_id: schemas.Id):
    need(request, Scope.READ)
    deployment, _ = deployment_for(request, deployment_id)
    return present.detail(deployment, request)
