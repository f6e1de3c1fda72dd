from django.urls import path

from deploychecks.owners import views

app_name = "owners"
urlpatterns = [
    path("deployments/<int:pk>/owners/", views.assign, name="assign"),
    path("my-work/", views.my_work, name="my_work"),
]
