"""API tokens: personal (a person's, made on their tokens page) and service
(an admin's, for a pipeline, scoped to services and environments).

Only the SHA-256 of a secret is stored; the secret is shown once. A service
token acts as a user of its own (`user`, no usable password, so it can never
log in): the name the run page shows for its ticks, and the participant a
deployment's lead adds to its team to let the pipeline change it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read deployments, templates, the gate and the audit log"
    TICK = "tick", "Tick items and sub-checks, mark N/A, add notes, send readings"
    TRANSITION = "transition", "Start deployments and change their status"
    IMPORT = "import", "Import Markdown checklists as templates"


class ApiToken(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "personal", "Personal"
        SERVICE = "service", "Service"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=80)
    # The person (personal), or the token's own account (service).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    token_hash = models.CharField(max_length=64)
    # The secret's first characters, to recognise it in a list.
    prefix = models.CharField(max_length=16)
    scopes = models.JSONField(default=list)
    # Service tokens only: the deployments they may touch. Never empty for one.
    services = models.JSONField(default=list, blank=True)
    environments = models.JSONField(default=list, blank=True)
    # Requests per minute; the API_RATE_LIMIT_PER_MINUTE default when made.
    rate_limit = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="apitoken_hash_unique"),
            models.CheckConstraint(condition=~Q(name=""), name="apitoken_name_not_empty"),
            models.CheckConstraint(
                condition=Q(kind="personal") | ~Q(services=[]),
                name="apitoken_service_has_services",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display().lower()} token)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def reaches(self, service: str, environment: str) -> bool:
        """A service token reaches only its services and environments (an empty
        environment list: all of them). A personal token: whatever its person may."""
        if self.kind == self.Kind.PERSONAL:
            return True
        return service in self.services and (
            not self.environments or environment in self.environments
        )

    def covers(self, deployment) -> bool:
        return self.reaches(deployment.service, deployment.environment)
