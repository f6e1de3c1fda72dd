"""Outbound webhooks: subscriptions, the outbox of events, and every delivery attempt.

A `Subscription` names a receiver (URL, signing secret, format), the event types
it wants and the services it covers. When something happens to a deployment,
one `Event` row is written in the transaction of the change, numbered per
deployment (`sequence`), with one `Delivery` per subscription that wants it: the
outbox. The worker sends deliveries from these rows (dispatch.py) and logs each
try as an `Attempt`. `GateState` remembers whether a deployment's next gate was
open, so that `gate.opened` is told only when it opens.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from deploychecks.webhooks.catalog import EVENT_TYPES


class Subscription(models.Model):
    class Format(models.TextChoices):
        STANDARD = "standard", "Standard Webhooks JSON (type, timestamp, data)"
        SLACK = "slack", 'Slack-compatible ({"text": …}) for chat channels'

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    # Kept as typed: it signs every request (Standard Webhooks), so it cannot be hashed.
    secret = models.CharField(max_length=200)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.STANDARD)
    # One service, or "" for every service (admins only; webhooks.access).
    service = models.CharField(max_length=120, blank=True)
    event_types = models.JSONField(default=list)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # The current run of failed attempts (reset by a success): what auto-disabling counts.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="webhooksub_name_not_empty"),
            models.CheckConstraint(condition=~Q(secret=""), name="webhooksub_signed"),
            models.CheckConstraint(
                condition=Q(is_active=True) | Q(disabled_at__isnull=False),
                name="webhooksub_disabled_has_time",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "service"], name="webhooksub_active_idx")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("webhooks:edit", args=[self.pk])

    @property
    def scope(self) -> str:
        return self.service or "all services"

    def wants(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])

    def event_labels(self) -> list[str]:
        return [t for t in EVENT_TYPES if t in (self.event_types or [])]


class Event(models.Model):
    """One thing that happened to a deployment, as every subscriber is told it.

    `sequence` counts a deployment's events from 1 (only events some subscription
    wanted are written), so a receiver can put them in order. `payload` is the
    body's `data`, complete when written: sending needs no other row.
    """

    deployment = models.ForeignKey(
        "runs.Deployment", on_delete=models.CASCADE, related_name="webhook_events"
    )
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["deployment_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "sequence"], name="webhookevent_sequence_unique"
            ),
        ]

    def __str__(self):
        return f"{self.type} #{self.sequence} of deployment {self.deployment_id}"


class Delivery(models.Model):
    """One event to one subscription: claimed, sent, retried, recorded (dispatch.py).

    `deployment` and `sequence` are copied from the event so the dispatcher can
    find, per subscription and deployment, the first delivery not yet finished:
    only that one may go (in order per deployment). A redelivery, asked for on
    the log page, is a row of its own outside that order.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    deployment = models.ForeignKey("runs.Deployment", on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField()
    is_redelivery = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A SENDING row whose lease ran out belongs to a dispatcher that died.
    lease_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"],
                condition=Q(is_redelivery=False),
                name="webhookdelivery_once_per_subscription",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhookdelivery_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_until__isnull=False),
                name="webhookdelivery_sending_has_lease",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="webhookdelivery_due_idx",
            ),
            # "Is an earlier delivery of this deployment to this subscription unfinished?"
            models.Index(
                fields=["subscription", "deployment", "sequence"],
                condition=Q(status__in=["pending", "sending"], is_redelivery=False),
                name="webhookdelivery_order_idx",
            ),
        ]

    def __str__(self):
        return f"{self.event} to {self.subscription}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DELIVERED, self.Status.FAILED)


class Attempt(models.Model):
    """One try of a delivery, as the log page shows it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    ok = models.BooleanField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery_id", "number", "pk"]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"


class GateState(models.Model):
    """Whether the deployment's next gated transition was open when last checked."""

    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    to_status = models.CharField(max_length=20)
    is_open = models.BooleanField()
    checked_at = models.DateTimeField()

    def __str__(self):
        state = "open" if self.is_open else "closed"
        return f"gate to {self.to_status} of {self.deployment_id}: {state}"
