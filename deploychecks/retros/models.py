"""A deployment's retrospective: its sections, its follow-ups, and when it was published."""

from django.conf import settings
from django.db import models
from django.db.models import Q

DEFAULT_SECTIONS = ("What went well", "What did not go well", "Follow-ups")


class Retrospective(models.Model):
    """Opened once when a deployment completes or is rolled back.

    While open, its metrics are read live from the record; publishing freezes
    the sections and copies the metrics into `metrics` (what the record and
    the exports show from then on).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PUBLISHED = "published", "Published"

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="retrospective"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # The status the deployment finished with (completed or rolled back).
    outcome = models.CharField(max_length=20)
    opened_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by_name = models.CharField(max_length=150, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "published"]), name="retro_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(published_at__isnull=False),
                name="retro_published_has_time",
            ),
        ]

    def __str__(self):
        return f"Retrospective of deployment {self.deployment_id}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class RetroSection(models.Model):
    retro = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    updated_by_name = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["retro", "position"], name="retrosection_position"),
        ]

    def __str__(self):
        return self.title


class FollowUp(models.Model):
    """An owned action that comes out of the retrospective, open until marked done."""

    retro = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="follow_ups")
    # Copied from the retro: the analytics count follow-ups per deployment set.
    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="follow_ups"
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_name = models.CharField(max_length=150)
    due_date = models.DateField()
    link = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    created_by_name = models.CharField(max_length=150)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["deployment", "created_at"], name="followup_dep_created")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="followup_title_not_empty"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
