from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "deploychecks.history"
    label = "history"
