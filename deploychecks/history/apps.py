from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "deploychecks.history"
    label = "history"

    def ready(self):
        from deploychecks.history.retro_metrics import deployment_metrics
        from deploychecks.retros import hooks as retros

        # The retrospective's figures are the record's (retros sits below history).
        retros.record_metrics.connect(deployment_metrics)
