from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "deploychecks.runs"
    label = "runs"
