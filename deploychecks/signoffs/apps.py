from django.apps import AppConfig


class SignoffsConfig(AppConfig):
    name = "deploychecks.signoffs"
    label = "signoffs"
