from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "deploychecks.api"
    label = "api"
    verbose_name = "API"
