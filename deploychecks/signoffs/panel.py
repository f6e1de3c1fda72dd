"""Reading sign-off state for the run page's panel and for the completion gate."""

from dataclasses import dataclass, field

from django.conf import settings

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


def panel_context(deployment: Deployment, user, request, *, errors=None, drafts=None) -> dict:
    """What templates/signoffs/panel.html#panel needs, for this user.

    `errors` and `drafts` ({role id: …}) put a refused submission back in its form.
    """
    from deploychecks.signoffs.services import checklist_hash, is_admin, reauth_is_fresh

    statuses = role_statuses(deployment)
    may_sign = (
        user.is_authenticated and user.pk != deployment.lead_id and not (deployment.is_finished)
    )
    for status in statuses:
        status.can_sign = may_sign and status.is_assigned(user)
        status.error = (errors or {}).get(status.role.pk, "")
        status.draft = (drafts or {}).get(status.role.pk, {})
    # A refusal for a role without a form here (say, an outsider's attempt) shows above the list.
    panel_error = " ".join(
        status.error for status in statuses if status.error and not status.can_sign
    )
    signable = any(status.can_sign for status in statuses)
    missing = [status for status in statuses if status.state != "approved"]
    return {
        "roles": statuses,
        "error": panel_error,
        "missing": missing,
        "signable": signable,
        "reauth_needed": signable and not reauth_is_fresh(request),
        "reauth_minutes": max(1, settings.REAUTH_WINDOW_SECONDS // 60),
        "checklist_hash": checklist_hash(deployment.pk) if signable else "",
        "can_assign": user.pk == deployment.lead_id and not deployment.is_finished,
        "can_override": bool(missing)
        and deployment.status == Deployment.Status.MONITORING
        and is_admin(user),
    }
