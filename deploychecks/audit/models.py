"""The audit log: one append-only, hash-chained row per state change.

Rows are written only by `audit.services.record_event`, inside the transaction
of the change they describe. The database refuses UPDATE, DELETE and TRUNCATE
on this table (migration 0002), except the UPDATE that Django's SET_NULL
issues when a user is deleted. Each row's `hash` is an HMAC, under a key kept
outside the database (AUDIT_HMAC_KEY), of its content and the previous row's
hash, so a row altered, forged or re-chained behind the triggers' back is found
by `manage.py verify_audit`; the witness file (audit.witness) catches rows
deleted from the end.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class AuditEvent(models.Model):
    """Who did what to which object, when, and what it looked like before and after.

    Like netbox's ObjectChange, the actor's name and the target's description
    are copied, so the row still reads correctly after either is deleted.
    """

    # Null for events that belong to no deployment (template edits…). The FK
    # indexes are the explicit ones in Meta, not Django's default single-column ones.
    deployment = models.ForeignKey(
        "runs.Deployment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_index=False,
    )
    # The deployment's sequence number of this change (orders its timeline and broadcasts).
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The actor's id as written, inside the hash. `actor` above is cleared
    # (SET_NULL) when the user is deleted; this never changes, so a changed
    # actor_id is found: it must be NULL or equal to this.
    actor_ref = models.PositiveBigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    # A change made through the API: the token's name and the CI run that used it
    # (core.provenance). Inside the hash when set.
    via = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    # Set by the service, not auto_now, so the hash covers the stored value.
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["deployment", "-seq"], name="auditevent_deployment_seq_idx"),
            models.Index(
                fields=["deployment", "-created_at"], name="auditevent_deployment_time_idx"
            ),
            models.Index(fields=["actor"], name="auditevent_actor_idx"),
            models.Index(fields=["action"], name="auditevent_action_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "seq"],
                condition=Q(seq__isnull=False),
                name="auditevent_deployment_seq_unique",
            ),
            # Constraints rather than unique=True: no extra varchar_pattern_ops index on
            # PostgreSQL. A unique prev_hash means two events can never name the same
            # predecessor, so the chain cannot fork even if appends were not serialized.
            models.UniqueConstraint(fields=["hash"], name="auditevent_hash_unique"),
            models.UniqueConstraint(fields=["prev_hash"], name="auditevent_prev_hash_unique"),
            models.CheckConstraint(
                condition=Q(seq__isnull=True) | Q(deployment__isnull=False),
                name="auditevent_seq_needs_deployment",
            ),
            models.CheckConstraint(condition=~Q(action=""), name="auditevent_action_not_empty"),
        ]

    def __str__(self):
        who = self.actor_name or "system"
        return f"{who} {self.action} {self.target_repr}".strip()
