from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "deploychecks.audit"
    label = "audit"
