"""Indexes for the history list (deploychecks.history.filters).

The trigram index on UPPER(ItemNote.body) exists only on PostgreSQL: Django's
`icontains` there is `UPPER(body::text) LIKE UPPER('%…%')`, which a GIN
gin_trgm_ops index on that expression answers without reading every note.
SQLite (embedded `make run`) has no pg_trgm; there the operation does nothing
and the same query scans, which is fine for a demo-sized database.
"""

import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models

NOTE_INDEX = "runs_itemnote_body_upper_trgm"


def create_note_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NOTE_INDEX} ON runs_itemnote "
        "USING gin (UPPER(body) gin_trgm_ops)"
    )


def drop_note_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: something else may use it by then.
    schema_editor.execute(f"DROP INDEX IF EXISTS {NOTE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0001_initial"),
        ("runs", "0002_completion_override"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce(
                        "started_at", "planned_start", "created_at"
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                name="deployment_when_idx",
            ),
        ),
        migrations.RunPython(create_note_trigram_index, drop_note_trigram_index, elidable=False),
    ]
