"""A deployment's public, read-only status page, reached by an unguessable token."""

from django.db import models
from django.db.models import Q


class StatusPage(models.Model):
    deployment = models.OneToOneField(
        "runs.Deployment", on_delete=models.CASCADE, related_name="status_page"
    )
    # The URL's secret. Kept as is (not hashed): the lead shares this URL with
    # customers and must be able to copy it again; it grants reading the
    # public state only. Rotating replaces it, disabling keeps it dormant.
    token = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    title = models.CharField(max_length=120, blank=True)
    message = models.TextField(max_length=1000, blank=True)
    eta = models.CharField(max_length=120, blank=True)
    message_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(token=""), name="statuspage_token_not_empty")
        ]

    def __str__(self):
        return f"Status page of {self.deployment_id}"
