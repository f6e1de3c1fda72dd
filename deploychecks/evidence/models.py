"""Evidence: a link or a file that backs a tick or a note of a deployment's item."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from deploychecks.runs.models import Deployment, ItemNote, RunItem


def evidence_path(instance: "Evidence", filename: str) -> str:
    """Where a file is stored: never a name the uploader chose (no extension, no
    path of theirs), so nothing they send decides how a server would serve it."""
    return f"evidence/{instance.deployment_id}/{uuid.uuid4().hex}"


class Evidence(models.Model):
    """One piece of evidence on an item (and, optionally, one of its notes).

    A link is kept as typed, with the title the person gave: the server never
    fetches it. A file is stored through Django's storage API, its type read
    from its bytes (evidence.content). Evidence is never edited or deleted:
    it is part of the record.
    """

    class Kind(models.TextChoices):
        LINK = "link", "Link"
        FILE = "file", "File"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="evidence")
    item = models.ForeignKey(RunItem, on_delete=models.CASCADE, related_name="evidence")
    note = models.ForeignKey(
        ItemNote, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to=evidence_path, max_length=200, blank=True)
    # The uploaded name, cleaned (shown and offered on download with the
    # extension of its real type), its type as read from its bytes, its size.
    filename = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=60, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="link") & ~Q(url="") & Q(file=""))
                | (Q(kind="file") & Q(url="") & ~Q(file="") & ~Q(content_type="")),
                name="evidence_link_or_file",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="evidence_has_title"),
        ]
        indexes = [models.Index(fields=["item", "created_at"], name="evidence_item_idx")]

    def __str__(self):
        return self.title
