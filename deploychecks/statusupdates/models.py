"""The lead's status updates of a deployment, and who follows them."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class StatusUpdate(models.Model):
    """One update, as written: Markdown (rendered sanitised) and an optional RAG colour.

    Append-only in practice: the audit log keeps what was posted; the author's
    name is copied so the update still reads right after the user is deleted.
    """

    class Rag(models.TextChoices):
        NONE = "", "No colour"
        GREEN = "green", "Green: on track"
        AMBER = "amber", "Amber: at risk"
        RED = "red", "Red: in trouble"

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="status_updates"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    rag = models.CharField(max_length=5, choices=Rag.choices, blank=True, default="")
    # Also shown on the deployment's public status page (when that page is on).
    public = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["deployment", "-created_at"], name="statusupd_dep_created")]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="statusupd_body_not_empty"),
            models.CheckConstraint(
                condition=Q(rag__in=["", "green", "amber", "red"]), name="statusupd_rag_valid"
            ),
        ]

    def __str__(self):
        return f"Status update {self.pk} of deployment {self.deployment_id}"

    @property
    def rag_word(self) -> str:
        """The colour as a word, so it never rests on colour alone."""
        return {"green": "Green", "amber": "Amber", "red": "Red"}.get(self.rag, "")


class Follower(models.Model):
    """Someone with access to the deployment who gets its status updates by email."""

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="followers"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "user"], name="statusupd_one_follow")
        ]

    def __str__(self):
        return f"{self.user_id} follows {self.deployment_id}"


class Cadence(models.Model):
    """How often the lead owes an update: minutes while in progress and while
    monitoring (empty = no reminder), and the last time the lead was reminded."""

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="update_cadence"
    )
    in_progress_minutes = models.PositiveIntegerField(null=True, blank=True)
    monitoring_minutes = models.PositiveIntegerField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(in_progress_minutes__isnull=True) | Q(in_progress_minutes__gte=5),
                name="statusupd_cadence_in_progress_min",
            ),
            models.CheckConstraint(
                condition=Q(monitoring_minutes__isnull=True) | Q(monitoring_minutes__gte=5),
                name="statusupd_cadence_monitoring_min",
            ),
        ]

    def __str__(self):
        return f"Update cadence of {self.deployment_id}"

    def minutes_for(self, status: str) -> int | None:
        return {"in_progress": self.in_progress_minutes, "monitoring": self.monitoring_minutes}.get(
            status
        )
