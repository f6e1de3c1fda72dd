from django.urls import path

from deploychecks.retros import views

app_name = "retros"
urlpatterns = [
    path("deployments/<int:pk>/retro/", views.page, name="page"),
    path("deployments/<int:pk>/retro/sections/<int:section_id>/", views.section, name="section"),
    path("deployments/<int:pk>/retro/follow-ups/", views.add_follow_up, name="add_follow_up"),
    path(
        "deployments/<int:pk>/retro/follow-ups/<int:follow_up_id>/done/",
        views.follow_up_done,
        name="follow_up_done",
    ),
    path("deployments/<int:pk>/retro/publish/", views.publish, name="publish"),
]
