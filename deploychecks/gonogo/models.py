"""Go/no-go signals, their readings, ingest tokens and rollback episodes.

A template revision defines its signals (SignalDefinition); creating a
deployment copies them (DeploymentSignal), so editing thresholds later never
changes a running deployment. Readings belong to the deployment's copy.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from deploychecks.gonogo import grading


class Direction(models.TextChoices):
    ABOVE = grading.ABOVE, "Higher is worse"
    BELOW = grading.BELOW, "Lower is worse"


class Kind(models.TextChoices):
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes/no"


class SignalFields(models.Model):
    """What a signal is and where its yellow and red ranges begin."""

    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=80)
    unit = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NUMBER)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.ABOVE)
    yellow_at = models.FloatField(null=True, blank=True)
    yellow_inclusive = models.BooleanField(default=True)
    red_at = models.FloatField(null=True, blank=True)
    red_inclusive = models.BooleanField(default=False)
    # Red must last more than this many minutes before it means "roll back".
    sustained_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def thresholds(self) -> grading.Thresholds:
        return grading.Thresholds(
            direction=self.direction,
            yellow=self.yellow_at,
            yellow_inclusive=self.yellow_inclusive,
            red=self.red_at,
            red_inclusive=self.red_inclusive,
            sustained_minutes=self.sustained_minutes,
        )

    @property
    def is_boolean(self) -> bool:
        return self.kind == Kind.BOOLEAN

    def threshold_fields(self) -> dict:
        return {f: getattr(self, f) for f in THRESHOLD_FIELDS}


THRESHOLD_FIELDS = (
    "position",
    "name",
    "unit",
    "kind",
    "direction",
    "yellow_at",
    "yellow_inclusive",
    "red_at",
    "red_inclusive",
    "sustained_minutes",
)


def _signal_constraints(prefix: str, owner: str) -> list:
    return [
        models.UniqueConstraint(fields=[owner, "name"], name=f"{prefix}_name_unique"),
        models.CheckConstraint(condition=~Q(name=""), name=f"{prefix}_name_not_empty"),
        models.CheckConstraint(
            condition=Q(yellow_at__isnull=False) | Q(red_at__isnull=False),
            name=f"{prefix}_has_a_threshold",
        ),
        models.CheckConstraint(
            condition=Q(sustained_minutes__isnull=True)
            | Q(sustained_minutes__gte=1, red_at__isnull=False),
            name=f"{prefix}_sustained_needs_red",
        ),
    ]


class SignalDefinition(SignalFields):
    """A signal of a template revision; edited on the template's signals page."""

    revision = models.ForeignKey(
        "checklists.TemplateRevision", on_delete=models.CASCADE, related_name="signal_definitions"
    )

    class Meta:
        ordering = ["revision", "position", "pk"]
        constraints = _signal_constraints("signaldef", "revision")


class DeploymentSignal(SignalFields):
    """A deployment's own copy of a signal, with its current grade."""

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="signals"
    )
    # The grade of the latest reading ("" before the first): kept so that a
    # change of grade can be noticed and audited under the deployment lock.
    grade = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["deployment_id", "position", "pk"]
        constraints = _signal_constraints("deploymentsignal", "deployment")


class Reading(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        INGEST = "ingest", "Monitoring (ingest API)"

    signal = models.ForeignKey(DeploymentSignal, on_delete=models.CASCADE, related_name="readings")
    value = models.FloatField()
    observed_at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The person's name, or the ingest token's name, as it was when recorded.
    recorded_by_name = models.CharField(max_length=150, blank=True)
    token = models.ForeignKey(
        "IngestToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="readings"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["signal_id", "observed_at", "pk"]
        indexes = [models.Index(fields=["signal", "observed_at"], name="reading_signal_time_idx")]

    def __str__(self):
        return f"{self.signal.name} = {self.value:g} at {self.observed_at:%H:%M:%S}"


class IngestToken(models.Model):
    """A bearer token for the monitoring ingest API; only its SHA-256 is kept."""

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="ingest_tokens"
    )
    name = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so people can tell tokens apart without the secret.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment_id", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="ingesttoken_name_not_empty")
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class VerdictState(models.Model):
    """The deployment's last computed verdict, to notice and audit changes."""

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="verdict_state"
    )
    level = models.CharField(max_length=10, default=grading.Level.NONE)
    rule = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    # When the verdict first became RED: the start of "time to decide".
    first_red_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.level}: {self.rule}"


class RollbackEpisode(models.Model):
    """A deployment's rollback, from the decision to the last rollback step."""

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="rollback"
    )
    reason = models.TextField(max_length=1000)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_name = models.CharField(max_length=150)
    # The rollback phase's step budgets added up, when it started.
    budget_minutes = models.PositiveIntegerField(default=0)
    # From the first RED verdict to the decision; None if it never went RED.
    decide_seconds = models.PositiveIntegerField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="rollback_has_reason"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True)
                | Q(completed_at__gte=models.F("started_at")),
                name="rollback_completes_after_start",
            ),
        ]

    def __str__(self):
        return f"Rollback of {self.deployment}"

    @property
    def is_active(self) -> bool:
        return self.completed_at is None
