from django.urls import path

from deploychecks.signoffs import views

app_name = "signoffs"
urlpatterns = [
    path("<int:pk>/approvers/", views.approvers, name="approvers"),
    path("<int:pk>/signoffs/<int:role_id>/", views.sign, name="sign"),
]
