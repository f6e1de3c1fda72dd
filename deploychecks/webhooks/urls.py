from django.urls import path

from deploychecks.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("webhooks/", views.subscription_list, name="list"),
    path("webhooks/new/", views.create, name="create"),
    path("webhooks/<int:subscription_id>/", views.edit, name="edit"),
    path("webhooks/<int:subscription_id>/active/", views.set_active, name="set_active"),
    path("webhooks/<int:subscription_id>/deliveries/", views.deliveries, name="deliveries"),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver/",
        views.redeliver,
        name="redeliver",
    ),
]
