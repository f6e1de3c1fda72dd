"""The "My work" page: across every unfinished deployment the user may see, the
open items they own (directly, as @lead or through a sign-off role) and the
sign-offs waiting for them, soonest due first."""

from dataclasses import dataclass
from datetime import UTC, datetime

from deploychecks.owners.directory import Directory
from deploychecks.owners.due import due_at, due_text
from deploychecks.runs.access import visible_deployments
from deploychecks.runs.models import Deployment, RunItem
from deploychecks.signoffs.models import ApproverAssignment, SignOff

UNFINISHED = (
    Deployment.Status.PLANNED,
    Deployment.Status.IN_PROGRESS,
    Deployment.Status.MONITORING,
)


_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Owned:
    item: RunItem
    deployment: Deployment
    due_at: datetime | None
    due_text: str
    overdue: bool


def my_work_context(user) -> dict:
    deployments = {
        d.pk: d
        for d in visible_deployments(user).filter(status__in=UNFINISHED).select_related("lead")
    }
    directories = {pk: Directory.of(d) for pk, d in deployments.items()}
    owned = []
    for item in (
        RunItem.objects.filter(deployment_id__in=list(deployments), state=RunItem.State.OPEN)
        .exclude(owners=[])
        .select_related("phase")
        .order_by("deployment_id", "phase__position", "position")
    ):
        if directories[item.deployment_id].owns(user, item.owners):
            deployment = deployments[item.deployment_id]
            owned.append(
                Owned(
                    item=item,
                    deployment=deployment,
                    due_at=due_at(item, deployment, item.phase),
                    due_text=due_text(item),
                    overdue=item.overdue_since is not None,
                )
            )
    # Overdue first, then by due time, then the ones with no due time yet.
    owned.sort(key=lambda o: (not o.overdue, o.due_at is None, o.due_at or _NEVER))
    approved = set(
        SignOff.objects.filter(
            deployment_id__in=list(deployments),
            status=SignOff.Status.VALID,
            decision=SignOff.Decision.APPROVE,
        ).values_list("role_id", flat=True)
    )
    signoffs = [
        a
        for a in ApproverAssignment.objects.filter(user=user, deployment_id__in=list(deployments))
        .select_related("role", "deployment")
        .order_by("deployment_id", "role__position")
        if a.role_id not in approved
    ]
    return {"owned": owned, "signoffs": signoffs}
