"""Reading sign-off state: each role with its approvers and current sign-off.

For the run page's panel, the approvers page and the completion guard."""

from dataclasses import dataclass, field

from deploychecks.runs.models import Deployment, DeploymentRole
from deploychecks.signoffs.models import ApproverAssignment, SignOff

STATE_LABELS = {
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
    "stale": "Stale — sign again",
}


@dataclass
class RoleStatus:
    role: DeploymentRole
    primary: object = None
    backups: list = field(default_factory=list)
    assignments: list = field(default_factory=list)
    # The role's valid sign-off, or else its most recent stale one.
    signoff: SignOff | None = None
    can_sign: bool = False
    # Why an assigned approver may not sign (a separation-of-duties rule), for the panel.
    blocked: str = ""
    error: str = ""
    draft: dict = field(default_factory=dict)

    @property
    def state(self) -> str:
        if self.signoff is None:
            return "pending"
        if self.signoff.status == SignOff.Status.STALE:
            return "stale"
        return "approved" if self.signoff.decision == SignOff.Decision.APPROVE else "rejected"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    def is_assigned(self, user) -> bool:
        people = [self.primary, *self.backups]
        return any(person is not None and person.pk == user.pk for person in people)


def role_statuses(deployment: Deployment) -> list[RoleStatus]:
    """Each sign-off role with its approvers and current sign-off, in three queries."""
    statuses = {
        role.pk: RoleStatus(role)
        for role in DeploymentRole.objects.filter(deployment=deployment).order_by("position")
    }
    for assignment in (
        ApproverAssignment.objects.filter(deployment=deployment)
        .select_related("user")
        .order_by("is_backup", "user__username")
    ):
        status = statuses.get(assignment.role_id)
        if status is None:
            continue
        status.assignments.append(assignment)
        if assignment.is_backup:
            status.backups.append(assignment.user)
        else:
            status.primary = assignment.user
    current = SignOff.objects.filter(
        deployment=deployment, status__in=[SignOff.Status.VALID, SignOff.Status.STALE]
    ).order_by("-created_at", "-pk")
    for signoff in current:
        status = statuses[signoff.role_id]
        if status.signoff is None or (
            signoff.status == SignOff.Status.VALID and status.signoff.status != SignOff.Status.VALID
        ):
            status.signoff = signoff
    return list(statuses.values())


def missing_approvals(deployment: Deployment) -> list[RoleStatus]:
    """The roles without a valid approval (pending, rejected or stale), in order."""
    return [status for status in role_statuses(deployment) if status.state != "approved"]
