from django.apps import AppConfig


class GoNoGoConfig(AppConfig):
    name = "deploychecks.gonogo"
    label = "gonogo"
    verbose_name = "Go/no-go signals and rollback"

    def ready(self):
        from deploychecks.checklists.services import register_signal_source
        from deploychecks.gonogo.definitions import parsed_signals

        # Template exports carry the revision's current thresholds.
        register_signal_source(parsed_signals)
