"""Websocket URL patterns of every app, in one place."""

from django.urls import path

from deploychecks.runs.consumers import DeploymentConsumer
from deploychecks.statuspage.consumers import PublicStatusConsumer

websocket_urlpatterns = [
    path("ws/deployments/<int:pk>/", DeploymentConsumer.as_asgi()),
    path("ws/status/<str:token>/", PublicStatusConsumer.as_asgi()),
]
