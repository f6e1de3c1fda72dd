from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "deploychecks.runs"
    label = "runs"

    def ready(self):
        from deploychecks.runs import gates, hooks

        # First among the guards: a refusal lists the checklist's own conditions first.
        hooks.status_changing.connect(gates.items_guard)
        hooks.status_changing.connect(gates.window_guard)
        hooks.status_changing.connect(gates.contacts_guard)
