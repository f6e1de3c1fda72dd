from django.urls import path

from deploychecks.runs import gate_views, settings_views, views

app_name = "runs"
urlpatterns = [
    path("new/", views.deployment_create, name="create"),
    path("<int:pk>/", views.deployment_detail, name="detail"),
    path("<int:pk>/checklist/", views.checklist_fragment, name="checklist"),
    path("<int:pk>/timeline/", views.timeline_fragment, name="timeline"),
    path("<int:pk>/presence/", views.presence_fragment, name="presence"),
    path("<int:pk>/status/", gate_views.change_status, name="status"),
    path("<int:pk>/override/", gate_views.override, name="override"),
    path("<int:pk>/items/<int:item_id>/state/", views.item_state, name="item_state"),
    path("<int:pk>/items/<int:item_id>/notes/", views.add_note, name="add_note"),
    path("<int:pk>/notes/<int:note_id>/edit/", views.edit_note, name="edit_note"),
    path("<int:pk>/notes/<int:note_id>/delete/", views.delete_note, name="delete_note"),
    path(
        "<int:pk>/subchecks/<int:subcheck_id>/state/", views.subcheck_state, name="subcheck_state"
    ),
    path("<int:pk>/settings/", settings_views.deployment_settings, name="settings"),
    path("<int:pk>/settings/participants/", settings_views.set_participant, name="set_participant"),
    path(
        "<int:pk>/settings/participants/<int:user_id>/remove/",
        settings_views.remove_participant,
        name="remove_participant",
    ),
    path("<int:pk>/settings/contacts/", settings_views.save_contacts, name="save_contacts"),
]
