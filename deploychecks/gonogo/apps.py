from django.apps import AppConfig


class GoNoGoConfig(AppConfig):
    name = "deploychecks.gonogo"
    label = "gonogo"
    verbose_name = "Go/no-go signals and rollback"
