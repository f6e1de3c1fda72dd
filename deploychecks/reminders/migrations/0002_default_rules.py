"""Give every template revision that existed before reminders the default schedule.

New revisions get theirs when they are created (reminders.schedule).
"""

from django.db import migrations

from deploychecks.reminders.schedule import DEFAULT_SCHEDULE


def add_default_rules(apps, schema_editor):
    TemplateRevision = apps.get_model("checklists", "TemplateRevision")
    ReminderRule = apps.get_model("reminders", "ReminderRule")
    rules = []
    for revision in TemplateRevision.objects.filter(reminder_rules__isnull=True):
        for position, (kind, minutes, title, items, notify) in enumerate(DEFAULT_SCHEDULE, 1):
            rule = ReminderRule(
                revision=revision,
                position=position,
                kind=kind,
                title=title,
                items=list(items),
                notify=list(notify),
            )
            if kind == "once":
                rule.offset_minutes = minutes
            else:
                rule.start_minutes, rule.end_minutes, rule.interval_minutes = minutes
            rules.append(rule)
    ReminderRule.objects.bulk_create(rules)


class Migration(migrations.Migration):
    dependencies = [("reminders", "0001_initial")]

    operations = [migrations.RunPython(add_default_rules, migrations.RunPython.noop)]
