"""Stabilization reminders: a schedule on each template revision, concrete rows per deployment.

A `ReminderRule` belongs to a template revision and says when (once at an
offset from go-live, or repeatedly from a start to an end at an interval), what
(title, the items it concerns) and whom to notify. When a deployment goes live,
every occurrence of every rule becomes a `Reminder` row with its own `due_at`;
the rule's content is copied, so editing the template later never changes a
running deployment. Each channel a reminder goes out on has one
`ReminderDelivery` row, the unit of exactly-once delivery (see dispatch.py).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

# Who a rule can name. "contacts" means the deployment's contacts table
# (those whose person field is an email address).
NOTIFY_CHOICES = [
    ("lead", "Lead"),
    ("engineers", "Engineers"),
    ("approvers", "Approvers"),
    ("viewers", "Viewers"),
    ("contacts", "Contacts (with an email address)"),
]
NOTIFY_VALUES = [value for value, _ in NOTIFY_CHOICES]
# One contact by role, e.g. "contact:DevOps lead" (matched case-insensitively).
CONTACT_PREFIX = "contact:"


def is_notify_value(value) -> bool:
    return isinstance(value, str) and (
        value in NOTIFY_VALUES
        or (value.startswith(CONTACT_PREFIX) and value[len(CONTACT_PREFIX) :].strip() != "")
    )


# Longest schedule we accept: 30 days after go-live.
MAX_MINUTES = 30 * 24 * 60


class ReminderRule(models.Model):
    class Kind(models.TextChoices):
        ONCE = "once", "Once"
        REPEAT = "repeat", "Repeat"

    revision = models.ForeignKey(
        "checklists.TemplateRevision", on_delete=models.CASCADE, related_name="reminder_rules"
    )
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ONCE)
    # Minutes after go-live. `offset_minutes` for a one-off; a repeat fires at
    # start, start + interval, ... up to and including end.
    offset_minutes = models.IntegerField(null=True, blank=True)
    start_minutes = models.IntegerField(null=True, blank=True)
    end_minutes = models.IntegerField(null=True, blank=True)
    interval_minutes = models.IntegerField(null=True, blank=True)
    title = models.CharField(max_length=200)
    # Case-insensitive text matched against the deployment's item titles (or,
    # when no item title matches, its section titles).
    items = models.JSONField(default=list, blank=True)
    notify = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "position"], name="reminderrule_position_unique"
            ),
            models.CheckConstraint(condition=~Q(title=""), name="reminderrule_title_not_empty"),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="once",
                        offset_minutes__gte=0,
                        offset_minutes__lte=MAX_MINUTES,
                        start_minutes__isnull=True,
                        end_minutes__isnull=True,
                        interval_minutes__isnull=True,
                    )
                    | Q(
                        kind="repeat",
                        offset_minutes__isnull=True,
                        start_minutes__gte=0,
                        end_minutes__gte=models.F("start_minutes"),
                        end_minutes__lte=MAX_MINUTES,
                        interval_minutes__gte=1,
                    )
                ),
                name="reminderrule_schedule_valid",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        errors = {}

        def check(field, value, *, minimum=0):
            if value is None:
                errors[field] = "Required."
            elif value < minimum:
                errors[field] = "Must be at least 1 minute." if minimum else "Must not be negative."
            elif value > MAX_MINUTES:
                errors[field] = f"At most {MAX_MINUTES} minutes (30 days)."

        if self.kind == self.Kind.ONCE:
            check("offset_minutes", self.offset_minutes)
            self.start_minutes = self.end_minutes = self.interval_minutes = None
        elif self.kind == self.Kind.REPEAT:
            check("start_minutes", self.start_minutes)
            check("end_minutes", self.end_minutes)
            check("interval_minutes", self.interval_minutes, minimum=1)
            if (
                "start_minutes" not in errors
                and "end_minutes" not in errors
                and self.end_minutes < self.start_minutes
            ):
                errors["end_minutes"] = "The end must not be before the start."
            self.offset_minutes = None
        else:
            errors["kind"] = "Choose once or repeat."
        unknown = [v for v in self.notify or [] if not is_notify_value(v)]
        if unknown:
            errors["notify"] = f"Unknown recipients: {', '.join(map(str, unknown))}."
        if not isinstance(self.items, list) or not all(isinstance(i, str) for i in self.items):
            errors["items"] = "A list of item titles."
        if errors:
            raise ValidationError(errors)

    def offsets(self) -> list[int]:
        """Minutes after go-live at which this rule fires."""
        if self.kind == self.Kind.ONCE:
            return [self.offset_minutes]
        return list(range(self.start_minutes, self.end_minutes + 1, self.interval_minutes))

    def describe(self) -> str:
        if self.kind == self.Kind.ONCE:
            return f"at {format_minutes(self.offset_minutes)}"
        return (
            f"every {format_minutes(self.interval_minutes)} from "
            f"{format_minutes(self.start_minutes)} to {format_minutes(self.end_minutes)}"
        )


def format_minutes(minutes: int) -> str:
    """120 -> '2 h', 90 -> '1 h 30 min', 15 -> '15 min' (after go-live)."""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} h"
    return f"{rest} min"


class Reminder(models.Model):
    """One occurrence of a rule for one deployment, created when it goes live."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        LATE = "late", "Sent late"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CANCELLED = "cancelled", "Cancelled"
        # Fell due while nothing was running, and a later occurrence of the same
        # rule was also due: only that later one is sent (no burst of repeats).
        MISSED = "missed", "Missed (superseded)"

    class Kind(models.TextChoices):
        SCHEDULE = "schedule", "Stabilization schedule"
        # Raised when an owned item fell overdue (deploychecks.owners, release_now).
        OVERDUE = "overdue", "Overdue item"
        # Raised when the lead's status update is due (deploychecks.statusupdates).
        UPDATE_DUE = "update_due", "Status update due"
        # Raised when someone is @mentioned in a note (deploychecks.mentions).
        MENTION = "mention", "Mention"

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCHEDULE)
    # SET_NULL: editing the template's rules must not touch a running deployment.
    rule = models.ForeignKey(
        ReminderRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders"
    )
    title = models.CharField(max_length=200)
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.PENDING)
    # When the dispatcher released it to its channels, and how long after due_at.
    sent_at = models.DateTimeField(null=True, blank=True)
    late_by = models.DurationField(null=True, blank=True)
    item_ids = models.JSONField(default=list, blank=True)
    notify = models.JSONField(default=list, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_by_name = models.CharField(max_length=150, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["deployment_id", "due_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "rule", "due_at"], name="reminder_occurrence_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=["pending", "cancelled", "missed"]) | Q(sent_at__isnull=False)
                ),
                name="reminder_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="acknowledged") | Q(acknowledged_at__isnull=False),
                name="reminder_ack_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="reminder_due_idx"),
        ]

    def __str__(self):
        return f"{self.title} (+{format_minutes(self.offset_minutes)})"

    def get_absolute_url(self):
        return reverse("runs:detail", args=[self.deployment_id]) + f"#reminder-{self.pk}"

    @property
    def is_open(self) -> bool:
        """Delivered and not yet acknowledged: counted in the bell while the deployment is live."""
        return self.status in (self.Status.SENT, self.Status.LATE)

    # A person in `notify`: "user:<id>" (a mention's, deploychecks.mentions).
    PERSON_PREFIX = "user:"

    @property
    def people(self) -> list[int]:
        """Who a personal reminder (a mention) is for: the ids of its "user:<id>"
        entries in `notify`. Empty for the others, which are everyone's."""
        if self.kind != self.Kind.MENTION:
            return []
        cut = len(self.PERSON_PREFIX)
        return [
            int(v[cut:])
            for v in self.notify or ()
            if str(v).startswith(self.PERSON_PREFIX) and v[cut:].isdigit()
        ]

    def is_for(self, user) -> bool:
        """Shown in `user`'s bell, and theirs to acknowledge."""
        people = self.people
        return not people or (user is not None and user.pk in people)


class ReminderDelivery(models.Model):
    """One reminder (or its escalation) on one channel: claimed, sent once, recorded."""

    class Channel(models.TextChoices):
        PAGE = "page", "Page"
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Purpose(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        ESCALATION = "escalation", "Escalation"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Nothing to send"

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    purpose = models.CharField(max_length=12, choices=Purpose.choices, default=Purpose.REMINDER)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Not before this time (webhook backoff); a SENDING row whose lease has run
    # out belongs to a dispatcher that died and may be claimed again.
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["reminder_id", "purpose", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "purpose", "channel"], name="reminderdelivery_once_per_channel"
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="reminderdelivery_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="reminderdelivery_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="reminderdelivery_due_idx"),
        ]

    def __str__(self):
        return f"{self.reminder} via {self.channel} ({self.purpose})"


class DeploymentWebhook(models.Model):
    """A deployment's own webhook, used instead of the global REMINDER_WEBHOOK_URL."""

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="reminder_webhook"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return self.url
