from django.urls import path

from deploychecks.signoffs import views

app_name = "signoffs"
urlpatterns = [
    path("deployments/<int:pk>/approvers/", views.approvers, name="approvers"),
    path("deployments/<int:pk>/signoffs/<int:role_id>/", views.sign, name="sign"),
    path(
        "templates/<int:template_id>/r<int:number>/signoff-rules/",
        views.template_rules,
        name="template_rules",
    ),
]
