"""RunItem.key (how the API addresses an item, unique per deployment) and
RunItem.changed_via (the API token and CI run of its last change).

Existing deployments get keys by the rule new ones follow
(checklists.parser.keys): each title's slug, "-2", "-3"… where taken, in the
checklist's order. Their templates named no keys: the syntax is new.
"""

from django.db import migrations, models
from django.db.models import F

from deploychecks.checklists.parser.keys import assign_keys

BATCH = 2000


def fill_keys(apps, schema_editor):
    RunItem = apps.get_model("runs", "RunItem")
    using = schema_editor.connection.alias
    items = (
        RunItem.objects.using(using)
        .order_by("deployment_id", F("phase__position"), "position")
        .values_list("pk", "deployment_id", "title")
    )
    pending, current, rows = [], None, []

    def flush():
        keys = assign_keys(("", title) for _, title in rows)
        pending.extend(RunItem(pk=pk, key=key) for (pk, _), key in zip(rows, keys, strict=True))

    for pk, deployment_id, title in items.iterator(chunk_size=BATCH):
        if deployment_id != current:
            flush()
            current, rows = deployment_id, []
            if len(pending) >= BATCH:
                RunItem.objects.using(using).bulk_update(pending, ["key"])
                pending = []
        rows.append((pk, title))
    flush()
    RunItem.objects.using(using).bulk_update(pending, ["key"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0009_submitted_form"),
    ]

    operations = [
        migrations.AddField(
            model_name="runitem",
            name="changed_via",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="runitem",
            name="key",
            field=models.CharField(default="", max_length=80),
            preserve_default=False,
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="runitem",
            constraint=models.UniqueConstraint(
                fields=("deployment", "key"), name="runitem_key_unique"
            ),
        ),
    ]
