from django.urls import path

from deploychecks.evidence import views

app_name = "evidence"
urlpatterns = [
    path("deployments/<int:pk>/items/<int:item_id>/evidence/", views.add, name="add"),
    path("deployments/<int:pk>/items/<int:item_id>/evidence/form/", views.form, name="form"),
    path(
        "deployments/<int:pk>/evidence/<int:evidence_id>/download/",
        views.download,
        name="download",
    ),
]
