"""One person holds at most one sign-off role per deployment, kept by the database.

Rows that break the rule already (the bug this fixes: one person signed as two
roles) are settled first, or the constraints could not be added:

- a person assigned to several roles of one deployment keeps the first
  assignment (lowest id); the others are removed;
- a person with valid sign-offs for several roles of one deployment broke the
  rule with each of them: all of them become stale, with a reason saying why
  (the record still shows them), and those roles need signing again.

No audit events are written here: a migration runs outside any request and the
audit chain is appended only by the services (docs/decisions.md).
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count
from django.utils import timezone

STALE_REASON = (
    "Separation of duties: one person holds at most one sign-off role per deployment, "
    "and this person also signed for another role"
)


def settle_existing_rows(apps, schema_editor):
    ApproverAssignment = apps.get_model("signoffs", "ApproverAssignment")
    SignOff = apps.get_model("signoffs", "SignOff")
    doubles = (
        ApproverAssignment.objects.values("deployment_id", "user_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for pair in doubles:
        rows = ApproverAssignment.objects.filter(
            deployment_id=pair["deployment_id"], user_id=pair["user_id"]
        ).order_by("id")
        ApproverAssignment.objects.filter(
            pk__in=list(rows.values_list("pk", flat=True)[1:])
        ).delete()
    doubles = (
        SignOff.objects.filter(status="valid", signer__isnull=False)
        .values("deployment_id", "signer_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    now = timezone.now()
    for pair in doubles:
        SignOff.objects.filter(
            deployment_id=pair["deployment_id"], signer_id=pair["signer_id"], status="valid"
        ).update(status="stale", stale_reason=STALE_REASON, invalidated_at=now)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0006_signoff_independence"),
        ("signoffs", "0002_order_by_columns"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(settle_existing_rows, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="approverassignment",
            name="approver_assignment_unique",
        ),
        migrations.AddField(
            model_name="signoff",
            name="checklist_snapshot",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddConstraint(
            model_name="approverassignment",
            constraint=models.UniqueConstraint(
                fields=("deployment", "user"), name="approver_one_role_per_person"
            ),
        ),
        migrations.AddConstraint(
            model_name="signoff",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "valid")),
                fields=("deployment", "signer"),
                name="one_valid_signoff_per_signer",
            ),
        ),
    ]
