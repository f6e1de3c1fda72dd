from django.conf import settings
from django.db import models


class PresenceEntry(models.Model):
    """One open websocket on a deployment page (see runs.presence)."""

    channel_name = models.CharField(max_length=200, unique=True)
    deployment = models.ForeignKey("runs.Deployment", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=150)
    last_seen = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["deployment", "last_seen"], name="presence_idx")]

    def __str__(self):
        return f"{self.name} on deployment {self.deployment_id}"
