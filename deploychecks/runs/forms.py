from django import forms
from django.contrib.auth import get_user_model

from deploychecks.checklists.models import TemplateRevision
from deploychecks.runs.models import Participant, validate_version


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name() or user.username} ({user.username})"


class DeploymentForm(forms.Form):
    revision = forms.ModelChoiceField(
        queryset=TemplateRevision.objects.none(), label="Checklist template"
    )
    release_name = forms.CharField(max_length=200, label="Release name")
    version = forms.CharField(
        max_length=60, label="Version", help_text="e.g. 2.0.0", validators=[validate_version]
    )
    previous_version = forms.CharField(
        max_length=60,
        required=False,
        label="Previous version",
        help_text="e.g. 1.1.0",
        validators=[validate_version],
    )
    service = forms.CharField(max_length=120)
    environment = forms.CharField(max_length=60, initial="production")
    planned_start = forms.DateTimeField(
        required=False,
        label="Planned window start",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    engineers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    approvers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    viewers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["revision"].queryset = TemplateRevision.objects.select_related(
            "template"
        ).order_by("-template__is_default", "template__name", "-number")
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        for name in ("engineers", "approvers", "viewers"):
            self.fields[name].queryset = users
            self.fields[name].widget.attrs["size"] = 6

    def clean_release_name(self):
        return self.cleaned_data["release_name"].strip()


class ParticipantForm(forms.Form):
    """Add someone to a deployment, or change their role (settings page)."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label="Person")
    role = forms.ChoiceField(choices=Participant.Role.choices)

    def __init__(self, *args, deployment=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        if deployment is not None:
            users = users.exclude(pk=deployment.lead_id)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username} ({u.username})"
        )


class ContactForm(forms.Form):
    role = forms.CharField(max_length=120, required=False)
    person = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=60, required=False)
    handle = forms.CharField(max_length=120, required=False, label="Chat handle")

    def clean(self):
        data = super().clean()
        if any(data.get(f) for f in ("person", "phone", "handle")) and not data.get("role"):
            self.add_error("role", "A contact needs a role.")
        return data


# One empty row for a new contact; a row left empty is ignored, DELETE removes one.
ContactFormSet = forms.formset_factory(
    ContactForm, extra=1, can_delete=True, max_num=50, validate_max=True
)
