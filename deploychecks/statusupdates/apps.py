from django.apps import AppConfig


class StatusUpdatesConfig(AppConfig):
    name = "deploychecks.statusupdates"
    label = "statusupdates"
    verbose_name = "Status updates"

    def ready(self):
        from deploychecks.reminders import events as reminders
        from deploychecks.runs import hooks
        from deploychecks.statusupdates.cadence import remind_due
        from deploychecks.statusupdates.panel import run_page_panel

        hooks.run_page.connect(run_page_panel)
        reminders.dispatching.connect(remind_due)
        hooks.slots.add("page-panels", "statusupdates/panel.html#panel", order=10)
