from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from deploychecks.api import main as api_main
from deploychecks.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("deployments/", include("deploychecks.runs.urls")),
    # Approvers and signing under deployments/<pk>/, sign-off rules under templates/.
    path("", include("deploychecks.signoffs.urls")),
    # Owners and due times: the run page's form, and "My work".
    path("", include("deploychecks.owners.urls")),
    path("", include("deploychecks.statusupdates.urls")),
    # Evidence: the item's "Add evidence" form and the file downloads.
    path("", include("deploychecks.evidence.urls")),
    # Retrospectives under deployments/<pk>/retro/.
    path("", include("deploychecks.retros.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("deploychecks.accounts.urls")),
    path("templates/", include("deploychecks.checklists.urls")),
    # Reminder pages under deployments/<pk>/reminders/ and templates/<id>/r<n>/reminders/.
    path("", include("deploychecks.reminders.urls")),
    # Go/no-go (run page actions, ingest API, template thresholds) and public status pages.
    path("", include("deploychecks.gonogo.urls")),
    path("", include("deploychecks.statuspage.urls")),
    # The deployment list, records, exports and analytics.
    path("", include("deploychecks.history.urls")),
    # The API (after gonogo's ingest URLs, which keep their own paths) and the token pages.
    path("api/v1/", api_main.urlpatterns()),
    path("", include("deploychecks.api.urls")),
    # Outbound webhooks: subscriptions and their delivery logs.
    path("", include("deploychecks.webhooks.urls")),
    path("admin/", admin.site.urls),
]

handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error
