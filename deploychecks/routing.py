"""Websocket URL patterns of every app, in one place."""

websocket_urlpatterns: list = []
