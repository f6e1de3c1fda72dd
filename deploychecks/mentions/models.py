from django.conf import settings
from django.db import models


class Mention(models.Model):
    """One person told about one note: made once, so an edit that keeps the
    @name (or drops it and types it again) tells nobody twice."""

    note = models.ForeignKey("runs.ItemNote", on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The reminder that carried it to the page, the bell and the email.
    reminder = models.ForeignKey(
        "reminders.Reminder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["note_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["note", "user"], name="mention_once_per_note"),
        ]

    def __str__(self):
        return f"@{self.user_id} in note {self.note_id}"
