"""The project's URLs plus one view that fails, for the 500 page's tests."""

from django.db import OperationalError
from django.urls import path

from deploychecks.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401


def broken(request):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


urlpatterns = [path("broken/", broken, name="broken"), *urlpatterns]
