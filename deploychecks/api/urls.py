from django.urls import path

from deploychecks.api import views

app_name = "api_pages"
urlpatterns = [
    path("account/tokens/", views.personal_tokens, name="tokens"),
    path("admin-tokens/", views.service_tokens, name="service_tokens"),
]
