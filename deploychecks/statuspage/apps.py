from django.apps import AppConfig


class StatusPageConfig(AppConfig):
    name = "deploychecks.statuspage"
    label = "statuspage"
    verbose_name = "Public status pages"

    def ready(self):
        from deploychecks.gonogo import events as gonogo
        from deploychecks.runs import hooks
        from deploychecks.statuspage.services import publish_change, publish_update
        from deploychecks.statusupdates import events as statusupdates

        hooks.status_changed.connect(publish_change)
        gonogo.rollback_started.connect(publish_change)
        statusupdates.update_posted.connect(publish_update)
