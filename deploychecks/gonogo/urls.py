from django.urls import path

from deploychecks.gonogo import views

app_name = "gonogo"
urlpatterns = [
    path("deployments/<int:pk>/readings/", views.add_reading, name="add_reading"),
    path("deployments/<int:pk>/rollback/", views.start_rollback, name="start_rollback"),
    path("deployments/<int:pk>/ingest-tokens/", views.ingest_tokens, name="tokens"),
    path("api/deployments/<int:pk>/readings", views.ingest_reading, name="ingest"),
    path("api/deployments/<int:pk>/readings/batch", views.ingest_batch, name="ingest_batch"),
    path("templates/<int:template_id>/signals/", views.template_signals, name="template_signals"),
]
