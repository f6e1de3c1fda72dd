"""History and reports: the deployment list, a deployment's permanent record,
its exports, and the analytics page."""

from django.urls import path

from deploychecks.history import analytics_views, export_views, list_views, record_views

app_name = "history"
urlpatterns = [
    path("deployments/", list_views.history_list, name="list"),
    path("deployments/<int:pk>/record/", record_views.record, name="record"),
    path("deployments/<int:pk>/export.<str:fmt>", export_views.export, name="export"),
    path("analytics/", analytics_views.analytics, name="analytics"),
    path("analytics/<slug:chart>.csv", analytics_views.chart_csv, name="chart_csv"),
]
