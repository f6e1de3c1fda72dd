"""Approvers and their sign-offs on a deployment.

Rows are written only by `signoffs.services`. The database keeps the rules
that matter most: one primary approver per role, one valid sign-off per
(deployment, role), a rejection always carries a reason, and separation of
duties: the deployment's lead never appears as the signer, and one person holds
at most one sign-off role per deployment (one assignment, one valid sign-off).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ApproverAssignment(models.Model):
    """Who may sign for a sign-off role: one primary approver and any number of backups.

    `user` and `participant.user` are the same person (signoffs.services keeps them so).
    """

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="approver_assignments"
    )
    role = models.ForeignKey(
        "runs.DeploymentRole", on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approver_assignments"
    )
    # The same person's participation: taking someone off the deployment
    # deletes their assignments with it, so re-adding them later (say as a
    # viewer) cannot quietly give back the right to sign.
    participant = models.ForeignKey(
        "runs.Participant", on_delete=models.CASCADE, related_name="approver_assignments"
    )
    is_backup = models.BooleanField(default=False)

    class Meta:
        ordering = ["role_id", "is_backup", "user__username"]
        constraints = [
            # One person, one role: approver or backup of a single role per deployment.
            models.UniqueConstraint(
                fields=["deployment", "user"], name="approver_one_role_per_person"
            ),
            models.UniqueConstraint(
                fields=["role"], condition=Q(is_backup=False), name="one_primary_approver_per_role"
            ),
        ]

    def __str__(self):
        kind = "backup" if self.is_backup else "approver"
        return f"{self.user} as {kind} for {self.role}"


class SignOff(models.Model):
    """One approver's decision on a role, tied to the checklist as it stood.

    `checklist_hash` covers every item's (id, state, version) and every
    sub-check's (id, done); `checklist_snapshot` keeps that state itself
    (signoffs.snapshot), so the record says exactly what was signed. A later
    change to the checklist makes a valid sign-off `stale`; a new sign-off for
    the same role makes the previous one `superseded`.
    """

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        STALE = "stale", "Stale"
        SUPERSEDED = "superseded", "Superseded"

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="signoffs"
    )
    role = models.ForeignKey(
        "runs.DeploymentRole", on_delete=models.CASCADE, related_name="signoffs"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="signoffs"
    )
    signer_name = models.CharField(max_length=150)
    # The deployment's lead when this was signed: a copy, so that a CHECK
    # constraint (which cannot read another table) can refuse lead == signer.
    deployment_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True, max_length=2000)
    checklist_hash = models.CharField(max_length=64)
    checklist_seq = models.PositiveBigIntegerField()
    # {"items": [[id, state, version]…], "subchecks": [[id, item id, done, version]…],
    # "counts": {…}}; empty for sign-offs made before it was kept.
    checklist_snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VALID)
    stale_reason = models.CharField(max_length=500, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment_id", "role_id", "-created_at"]
        indexes = [models.Index(fields=["deployment", "status"], name="signoff_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "role"],
                condition=Q(status="valid"),
                name="one_valid_signoff_per_role",
            ),
            # Separation of duties: one person speaks for at most one role. A valid
            # rejection counts too: it is that role's current word.
            models.UniqueConstraint(
                fields=["deployment", "signer"],
                condition=Q(status="valid"),
                name="one_valid_signoff_per_signer",
            ),
            models.CheckConstraint(
                condition=~Q(signer=F("deployment_lead")), name="signoff_signer_is_not_lead"
            ),
            models.CheckConstraint(
                condition=Q(decision__in=["approve", "reject"]), name="signoff_decision_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["valid", "stale", "superseded"]),
                name="signoff_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(comment=""), name="signoff_reject_has_comment"
            ),
            models.CheckConstraint(
                condition=~Q(status="stale") | ~Q(stale_reason=""), name="signoff_stale_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.role.name} sign-off by {self.signer_name}"

    @property
    def is_valid(self) -> bool:
        return self.status == self.Status.VALID
