from django.urls import path

from deploychecks.statusupdates import views

app_name = "statusupdates"
urlpatterns = [
    path("deployments/<int:pk>/status-updates/", views.post, name="post"),
    path("deployments/<int:pk>/status-updates/cadence/", views.cadence, name="cadence"),
    path("deployments/<int:pk>/follow/", views.follow, name="follow"),
]
