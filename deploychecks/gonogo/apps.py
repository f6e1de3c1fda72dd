from django.apps import AppConfig


class GoNoGoConfig(AppConfig):
    name = "deploychecks.gonogo"
    label = "gonogo"
    verbose_name = "Go/no-go signals and rollback"

    def ready(self):
        from deploychecks.checklists.services import register_signal_source
        from deploychecks.gonogo import gate, ingest, rollback
        from deploychecks.gonogo import hooks as gonogo
        from deploychecks.gonogo.definitions import parsed_signals
        from deploychecks.runs import hooks

        # Template exports carry the revision's current thresholds.
        register_signal_source(parsed_signals)
        hooks.deployment_created.connect(gonogo.copy_signals)
        # After sign-offs' handler: the last rollback step moves on to rolled_back.
        hooks.item_changed.connect(rollback.item_changed)
        hooks.status_changed.connect(rollback.status_changed)
        hooks.status_changing.connect(gate.gonogo_guard)
        # Finishing waits for a reading being stored, and refuses the ones after it.
        hooks.finished.connect(ingest.close_signals)
        hooks.run_page.connect(gonogo.run_page_panels)
        hooks.slots.add("page-panels", "gonogo/panel.html", order=20)
