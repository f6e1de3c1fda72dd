"""Approver independence: nobody vouches for work they did themselves.

The rule (on by default, switched per template revision and copied onto each
deployment): an approver may not sign a role after ticking, marking N/A or
noting any item of a phase the role covers, like GitLab's "prevent approval by
users who add commits". "Any such action ever" counts, so the evidence is the
audit log (every tick, N/A, sub-check tick and note is an event with its
actor), not only who changed an item last; the items' and notes' own columns
are read as well, for rows written without an event. Reopening an item or
unticking a sub-check does not count: taking work back is what a reviewer does.

The admin completion override (runs.services.change_status with an
override_reason) is the audited way past a role nobody independent signed.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import Deployment, DeploymentRole, ItemNote, RunItem, RunSubCheck

RULE_NAME = "approver independence"
# The runs.services audit actions that are work on an item, and what they mean.
WORK_ACTIONS = {
    "item.ticked": "ticked",
    "item.marked_na": "marked N/A",
    "subcheck.ticked": "ticked a sub-check of",
    "note.added": "noted",
    "deviation.added": "noted a deviation on",
}
ITEM_TARGET = "runs.runitem"
SUBCHECK_TARGET = "runs.runsubcheck"


@dataclass
class Conflict:
    """Why `user` may not sign `role`: the covered phases they worked on."""

    role: DeploymentRole
    phases: list[str] = field(default_factory=list)  # titles, in checklist order
    items: list[str] = field(default_factory=list)  # a few item titles, as examples

    @property
    def message(self) -> str:
        phases = ", ".join(f"“{title}”" for title in self.phases)
        examples = "; ".join(f"“{title}”" for title in self.items[:3])
        return (
            f"Separation of duties ({RULE_NAME}): you ticked, marked N/A or noted items in "
            f"{phases} (e.g. {examples}), which the {self.role.name} sign-off covers, so you "
            f"cannot sign as {self.role.name}. Ask the lead to assign an approver who did not "
            "work on those phases; an admin can still complete the deployment without this "
            "approval through the audited completion override."
        )


def covered_phase_ids(role: DeploymentRole) -> set[int] | None:
    """The ids of the phases `role` covers; None for all of them."""
    if role.covers_all_phases:
        return None
    return set(role.covered_phases.values_list("pk", flat=True))


def items_worked_on(deployment: Deployment, user) -> set[int]:
    """Ids of the deployment's items `user` ever ticked, marked N/A, ticked a
    sub-check of, or noted."""
    events = AuditEvent.objects.filter(
        deployment=deployment, actor=user, action__in=list(WORK_ACTIONS)
    ).values_list("target_type", "target_id")
    item_ids, subcheck_ids = set(), set()
    for target_type, target_id in events:
        if target_type == ITEM_TARGET:
            item_ids.add(int(target_id))
        elif target_type == SUBCHECK_TARGET:
            subcheck_ids.add(int(target_id))
    item_ids |= set(
        RunSubCheck.objects.filter(
            Q(pk__in=subcheck_ids) | Q(changed_by=user, done=True), item__deployment=deployment
        ).values_list("item_id", flat=True)
    )
    item_ids |= set(
        RunItem.objects.filter(
            deployment=deployment,
            changed_by=user,
            state__in=[RunItem.State.DONE, RunItem.State.NA],
        ).values_list("pk", flat=True)
    )
    item_ids |= set(
        ItemNote.objects.filter(item__deployment=deployment, author=user).values_list(
            "item_id", flat=True
        )
    )
    return item_ids


def conflict_for(deployment: Deployment, role: DeploymentRole, user) -> Conflict | None:
    """The reason `user` may not sign `role` under the independence rule, or None."""
    if not deployment.require_independent_approvers:
        return None
    item_ids = items_worked_on(deployment, user)
    if not item_ids:
        return None
    covered = covered_phase_ids(role)
    worked = RunItem.objects.filter(deployment=deployment, pk__in=item_ids)
    if covered is not None:
        worked = worked.filter(phase_id__in=covered)
    rows = list(worked.order_by("phase__position", "position").values_list("phase__title", "title"))
    if not rows:
        return None
    phases = list(dict.fromkeys(phase for phase, _ in rows))
    return Conflict(role=role, phases=phases, items=[title for _, title in rows])
