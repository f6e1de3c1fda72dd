from django.urls import path

from deploychecks.reminders import views

app_name = "reminders"
urlpatterns = [
    path("deployments/<int:pk>/reminders/", views.deployment_reminders, name="deployment"),
    path("deployments/<int:pk>/reminders/centre/", views.centre, name="centre"),
    path(
        "deployments/<int:pk>/reminders/<int:reminder_id>/acknowledge/",
        views.acknowledge,
        name="acknowledge",
    ),
    path("deployments/<int:pk>/reminders/go-live/", views.reschedule, name="reschedule"),
    path("deployments/<int:pk>/reminders/webhook/", views.set_webhook, name="webhook"),
    path(
        "templates/<int:template_id>/r<int:number>/reminders/",
        views.template_rules,
        name="template_rules",
    ),
]
