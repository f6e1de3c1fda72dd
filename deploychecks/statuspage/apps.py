from django.apps import AppConfig


class StatusPageConfig(AppConfig):
    name = "deploychecks.statuspage"
    label = "statuspage"
    verbose_name = "Public status pages"
