from django.urls import path

from deploychecks.checklists import gate_views, views

app_name = "checklists"
urlpatterns = [
    path("", views.template_list, name="list"),
    path("import/", views.import_template, name="import"),
    path("<int:template_id>/", views.template_detail, name="detail"),
    path("<int:template_id>/r<int:number>/", views.template_detail, name="revision"),
    path("<int:template_id>/r<int:number>/export.md", views.export_revision, name="export"),
    path("<int:template_id>/r<int:number>/gates/", gate_views.edit_gates, name="gates"),
    path("<int:template_id>/edit/", views.edit_template, name="edit"),
]
