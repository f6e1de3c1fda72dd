from django.urls import path

from deploychecks.statuspage import views

app_name = "statuspage"
urlpatterns = [
    path("status/<str:token>/", views.public_status, name="public"),
    path("deployments/<int:pk>/status-page/", views.manage, name="manage"),
]
