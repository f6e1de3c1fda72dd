from django.apps import AppConfig


class ChecklistsConfig(AppConfig):
    name = "deploychecks.checklists"
    label = "checklists"
