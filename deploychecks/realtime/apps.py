from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "deploychecks.realtime"
    label = "realtime"
