"""Deployments (runs): a snapshot of one template revision, worked through live.

Creating a deployment copies the revision's phases, sections, steps, items and
sub-checks into the Run* tables, so later template edits never change it.
Every state change goes through `runs.services`; each bumps the deployment's
`seq`, which orders the live broadcasts and the audit log.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from deploychecks.checklists.models import DueAnchor, Stage
from deploychecks.checklists.parser.owners import describe_due

# A release's version as people and tools write it (2.0.0, v3.1.0-rc.1,
# 1.0.0+build.5, a commit hash), never markup or free text: it is shown in page
# headers, emails, webhooks and the public status page.
validate_version = RegexValidator(
    r"\A[0-9A-Za-z][0-9A-Za-z.+_-]{0,59}\Z",
    "Enter a version such as 2.0.0, v3.1.0-rc.1 or a commit hash: letters, digits and "
    ". + _ - only, starting with a letter or a digit, at most 60 characters.",
)

# A planned start further than this from today is a typo (a year 9999 would make
# every due time after it overflow Python's datetime).
PLANNED_START_YEARS = 10
PLANNED_START_MESSAGE = f"Enter a planned start within {PLANNED_START_YEARS} years of today."


def validate_planned_start(value) -> None:
    """Raise ValidationError for a planned start more than PLANNED_START_YEARS away."""
    if value is None:
        return
    if abs(value - timezone.now()) > timedelta(days=365 * PLANNED_START_YEARS):
        raise ValidationError(PLANNED_START_MESSAGE)


class Deployment(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        MONITORING = "monitoring", "Monitoring"
        COMPLETED = "completed", "Completed"
        ROLLED_BACK = "rolled_back", "Rolled back"
        ABORTED = "aborted", "Aborted"

    revision = models.ForeignKey(
        "checklists.TemplateRevision", on_delete=models.PROTECT, related_name="deployments"
    )
    template_name = models.CharField(max_length=200)
    release_name = models.CharField(max_length=200)
    version = models.CharField(max_length=60)
    previous_version = models.CharField(max_length=60, blank=True)
    service = models.CharField(max_length=120)
    environment = models.CharField(max_length=60, default="production")
    planned_start = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="led_deployments",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    go_live_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Last sequence number handed out; bumped under a row lock with every change.
    seq = models.PositiveBigIntegerField(default=0)
    # Completing waits this long after go-live (copied from the revision; None: no window).
    monitoring_hours = models.PositiveIntegerField(null=True, blank=True)
    # The revision's independence rule, copied when the deployment starts so a
    # later change to the template's rules never changes who may sign here.
    require_independent_approvers = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="deployment_status_idx"),
            models.Index(fields=["service", "environment"], name="deployment_service_idx"),
            # The history list's default order (newest first) and its date range:
            # a page of it is read from this index instead of sorting every row.
            models.Index(
                Coalesce("started_at", "planned_start", "created_at").desc(),
                F("id").desc(),
                name="deployment_when_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(release_name=""), name="release_name_not_empty"),
            models.CheckConstraint(condition=~Q(version=""), name="version_not_empty"),
            models.CheckConstraint(condition=~Q(service=""), name="service_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "in_progress"]) | Q(started_at__isnull=False),
                name="started_deployment_has_start",
            ),
        ]

    def __str__(self):
        return f"{self.service} {self.version} ({self.release_name})"

    def get_absolute_url(self):
        return reverse("runs:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.COMPLETED, self.Status.ROLLED_BACK, self.Status.ABORTED}

    def next_seq(self) -> int:
        """Take the next sequence number for one change; the caller holds the row lock.

        Every audited change of a deployment takes one: it orders the change's
        audit event and its broadcast.
        """
        self.seq += 1
        self.save(update_fields=["seq"])
        return self.seq


class Participant(models.Model):
    class Role(models.TextChoices):
        ENGINEER = "engineer", "Engineer"
        APPROVER = "approver", "Approver"
        VIEWER = "viewer", "Viewer"

    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deployment", "user"], name="participant_unique"),
        ]

    def __str__(self):
        return f"{self.user} as {self.role}"


class RunPhase(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    timing_label = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True)
    # Before or after go-live, or the rollback procedure (copied from the template).
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.BEFORE)
    is_rollback = models.GeneratedField(
        expression=Q(stage=Stage.ROLLBACK), output_field=models.BooleanField(), db_persist=True
    )
    # The first change to one of its items: the anchor of "(due … after phase start)".
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "position"], name="runphase_position_unique"
            ),
        ]

    def __str__(self):
        return self.title


class RunSection(models.Model):
    phase = models.ForeignKey(RunPhase, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    timing_label = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True)
    # Owner tokens copied from the template (owners app): for its items that have none.
    owners = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["phase_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["phase", "position"], name="runsection_position_unique"
            ),
        ]

    def __str__(self):
        return self.title


class RunStep(models.Model):
    phase = models.ForeignKey(RunPhase, on_delete=models.CASCADE, related_name="steps")
    section = models.ForeignKey(
        RunSection, null=True, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["phase_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "position"], name="runstep_position_unique"),
        ]

    def __str__(self):
        return f"{self.number}. {self.title}"


class RunItem(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        NA = "na", "N/A"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="items")
    phase = models.ForeignKey(RunPhase, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(
        RunSection, null=True, on_delete=models.CASCADE, related_name="items"
    )
    step = models.ForeignKey(RunStep, null=True, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    required = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    na_reason = models.TextField(blank=True)
    # Optimistic concurrency: a write must name the version it was based on.
    version = models.PositiveIntegerField(default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_name = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    # The last change came through the API: its token and CI run (core.provenance).
    changed_via = models.JSONField(null=True, blank=True)
    # How the API and the CLI address the item: unique per deployment, the slug of
    # its title unless the template named one (checklists.parser.keys).
    key = models.CharField(max_length=80)
    # Owners ("alice", a role's slug "devops-lead", or "lead") and the due time,
    # copied from the template and changed by the lead (deploychecks.owners).
    # `assign_version` grows with each change of them or of `overdue_since` (the
    # row's cache key; `version` is left alone so sign-offs do not go stale).
    owners = models.JSONField(default=list, blank=True)
    due_minutes = models.IntegerField(null=True, blank=True)
    due_anchor = models.CharField(max_length=10, choices=DueAnchor.choices, blank=True)
    overdue_since = models.DateTimeField(null=True, blank=True)
    assign_version = models.PositiveIntegerField(default=1)
    # Copied from the template: ticking it needs evidence first (the
    # `item_ticking` guard of deploychecks.evidence).
    evidence_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["phase_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "position"], name="runitem_position_unique"),
            models.UniqueConstraint(fields=["deployment", "key"], name="runitem_key_unique"),
            models.CheckConstraint(
                condition=Q(due_anchor="", due_minutes__isnull=True)
                | (~Q(due_anchor="") & Q(due_minutes__isnull=False)),
                name="runitem_due_has_anchor",
            ),
            models.CheckConstraint(
                condition=~Q(state="na") | ~Q(na_reason=""), name="na_item_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["deployment", "state"], name="runitem_state_idx")]

    def __str__(self):
        return self.title

    @property
    def due_text(self) -> str:
        """'2h after go-live', or '' without a due time."""
        return describe_due(self.due_minutes, self.due_anchor) if self.due_anchor else ""


class RunSubCheck(models.Model):
    item = models.ForeignKey(RunItem, on_delete=models.CASCADE, related_name="subchecks")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    done = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_name = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "position"], name="runsubcheck_position_unique"
            ),
        ]

    def __str__(self):
        return self.title


class ItemNote(models.Model):
    """A short note or deviation on an item, in the item's thread.

    A note may reply to another note of the same item. Its author (or the lead)
    may edit it (each edit bumps `version` and is audited with what changed) or
    delete it: a deleted note stays as a tombstone, its text gone, so the
    thread and the replies keep their place (the audit log keeps the fact).
    """

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        DEVIATION = "deviation", "Deviation"

    item = models.ForeignKey(RunItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    # Never deleted (a deletion leaves a tombstone), so a reply keeps its parent.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    # Grows with every edit and the deletion: the item row's cache key sums it.
    version = models.PositiveIntegerField(default=1)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["item_id", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body="") | Q(deleted_at__isnull=False), name="note_body_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(body=""), name="note_tombstone_has_no_text"
            ),
        ]
        # On PostgreSQL a trigram index on UPPER(body) serves the history list's
        # search (`body__icontains`); it is created by migration 0003 only there.

    def __str__(self):
        return f"{self.get_kind_display()} by {self.author_name}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def text(self) -> str:
        """The body, or for a tombstone what the record shows in its place."""
        if self.deleted_at is None:
            return self.body
        return f"Note deleted by {self.deleted_by_name} at {self.deleted_at:%Y-%m-%d %H:%M} UTC"


class DeploymentRole(models.Model):
    """A sign-off role copied from the template (Engineering Manager, QA Lead…).

    `covers_all_phases` / `covered_phases` are the template role's, copied: the
    phases whose work this role vouches for (signoffs' independence rule).
    """

    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="signoff_roles"
    )
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    # Its valid approval is needed to go live (copied from the template).
    before_go_live = models.BooleanField(default=False)
    covers_all_phases = models.BooleanField(default=True)
    covered_phases = models.ManyToManyField(RunPhase, blank=True, related_name="+")

    class Meta:
        ordering = ["deployment_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "name"], name="deploymentrole_unique"),
        ]

    def __str__(self):
        return self.name


class DeploymentContact(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="contacts")
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=120)
    person = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=60, blank=True)
    handle = models.CharField(max_length=120, blank=True)
    # Copied from the template's contact: False for a row of placeholders.
    filled_in = models.BooleanField(default=True)

    class Meta:
        ordering = ["deployment_id", "position"]

    def __str__(self):
        return f"{self.role}: {self.person}".rstrip(": ")


class GateOverride(models.Model):
    """A status change made past unmet conditions of its gate, by a lead or an admin.

    `conditions` lists exactly what was overridden ({"key", "kind", "label"}), as
    the refusal named it; the person confirmed their password and gave a reason.
    Shown on the run page and the record, never on the public status page.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="overrides")
    to_status = models.CharField(max_length=20, choices=Deployment.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(max_length=150)
    reason = models.TextField()
    conditions = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["deployment_id", "created_at", "pk"]
        indexes = [models.Index(fields=["created_at"], name="gateoverride_created_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="gateoverride_has_reason"),
        ]

    def __str__(self):
        return f"{self.by_name} overrode the gate to {self.get_to_status_display().lower()}"

    @property
    def labels(self) -> list[str]:
        return [c.get("label", "") for c in self.conditions]


class SubmittedForm(models.Model):
    """One submission of a form that adds a row (a note, a reading, a deployment),
    by the idempotency key the form carried (runs.idempotency).

    A retry of the same form (after a timeout or an error page) carries the same
    key and gets the first submission's result back instead of a second row. The
    database keeps the rule: a key is used once per user.
    """

    class Kind(models.TextChoices):
        NOTE = "note"
        READING = "reading"
        DEPLOYMENT = "deployment"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="submitted_form_key_once_per_user")
        ]

    def __str__(self):
        return f"{self.kind} {self.object_id} (key {self.key})"
