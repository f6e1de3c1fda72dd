from django import forms
from django.contrib.auth import get_user_model

from deploychecks.checklists.models import TemplateRevision


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name() or user.username} ({user.username})"


class DeploymentForm(forms.Form):
    revision = forms.ModelChoiceField(queryset=TemplateRevision.objects.none(),
                                      label="Checklist template")
    release_name = forms.CharField(max_length=200, label="Release name")
    version = forms.CharField(max_length=60, label="Version", help_text="e.g. 2.0.0")
    previous_version = forms.CharField(max_length=60, required=False,
                                       label="Previous version", help_text="e.g. 1.1.0")
    service = forms.CharField(max_length=120)
    environment = forms.CharField(max_length=60, initial="production")
    planned_start = forms.DateTimeField(
        required=False, label="Planned window start",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    engineers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    approvers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    viewers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["revision"].queryset = TemplateRevision.objects.select_related(
            "template").order_by("-template__is_default", "template__name", "-number")
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        for name in ("engineers", "approvers", "viewers"):
            self.fields[name].queryset = users
            self.fields[name].widget.attrs["size"] = 6

    def clean_release_name(self):
        return self.cleaned_data["release_name"].strip()

