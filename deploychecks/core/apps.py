from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "deploychecks.core"
    label = "core"
