from django.apps import AppConfig


class StatusUpdatesConfig(AppConfig):
    name = "deploychecks.statusupdates"
    label = "statusupdates"
    verbose_name = "Status updates"

    def ready(self):
        from deploychecks.runs import hooks
        from deploychecks.statusupdates.panel import run_page_panel

        hooks.run_page.connect(run_page_panel)
