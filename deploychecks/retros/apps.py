from django.apps import AppConfig


class RetrosConfig(AppConfig):
    name = "deploychecks.retros"
    label = "retros"
    verbose_name = "Retrospectives"

    def ready(self):
        from deploychecks.retros import services
        from deploychecks.runs import hooks

        # On status_changed (not finished): gonogo's handler there closes the
        # rollback episode first, and the retro opens after it, in the same transaction.
        hooks.status_changed.connect(services.open_on_finish)
        hooks.slots.add("page-panels", "retros/link.html", order=50)
