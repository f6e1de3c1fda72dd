from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "deploychecks.reminders"
    label = "reminders"

    def ready(self):
        from django.db.models.signals import post_save

        from deploychecks.checklists.models import TemplateRevision
        from deploychecks.reminders import hooks as reminders
        from deploychecks.reminders import tasks  # noqa: F401  see below
        from deploychecks.reminders.schedule import give_new_revision_rules
        from deploychecks.runs import hooks

        # Every new revision (import, edit, the built-in default) starts with a
        # schedule: its predecessor's rules, or the default stabilization schedule.
        post_save.connect(
            give_new_revision_rules,
            sender=TemplateRevision,
            dispatch_uid="reminders-new-revision-rules",
        )
        hooks.went_live.connect(reminders.schedule)
        hooks.finished.connect(reminders.cancel)
        hooks.item_changed.connect(reminders.close_overdue)
        hooks.slots.add("header", "reminders/bell_slot.html", order=10)
        # `tasks` is imported to register the task in every process, not only in
        # Celery workers (whose autodiscovery is lazy): the embedded scheduler of
        # the web process runs it.
