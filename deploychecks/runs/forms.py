from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse

from deploychecks.checklists.models import TemplateRevision
from deploychecks.runs.models import Participant, validate_planned_start, validate_version


def _person(user) -> str:
    return f"{user.get_full_name() or user.username} ({user.username})"


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return _person(user)


class ApproverChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return _person(user)


class DeploymentForm(forms.Form):
    """A new deployment. Its approvers are picked per sign-off role of the chosen
    revision: one select per role (`approver_<role id>`), so each pick names the
    role it approves. `roles_of` says which revision those selects were made for;
    a post whose template changed since gets them again, for the new template."""

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
        validators=[validate_planned_start],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    engineers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    viewers = UserChoiceField(queryset=get_user_model().objects.none(), required=False)
    roles_of = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, lead=None, **kwargs):
        super().__init__(*args, **kwargs)
        revisions = TemplateRevision.objects.select_related("template").order_by(
            "-template__is_default", "template__name", "-number"
        )
        self.fields["revision"].queryset = revisions
        # Another template has other sign-off roles: fetch its approver selects.
        self.fields["revision"].widget.attrs.update(
            {
                "hx-get": reverse("runs:create"),
                "hx-trigger": "change",
                "hx-target": "#approver-roles",
                "hx-select": "#approver-roles",
                "hx-swap": "outerHTML",
            }
        )
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        for name in ("engineers", "viewers"):
            self.fields[name].queryset = users
            self.fields[name].widget.attrs["size"] = 6
        self.roles_revision = self._shown_revision(revisions)
        if not self.is_bound and self.roles_revision and not self.initial.get("revision"):
            # Chosen in the select, as its approver roles are shown below it.
            self.initial["revision"] = self.roles_revision.pk
        self.roles = list(self.roles_revision.signoff_roles.all()) if self.roles_revision else []
        # The lead (whoever creates it) may never approve their own deployment.
        approvers = users.exclude(pk=lead.pk) if lead is not None else users
        for role in self.roles:
            self.fields[f"approver_{role.pk}"] = ApproverChoiceField(
                queryset=approvers,
                required=False,
                label=role.name,
                empty_label="— nobody yet (assign later) —",
            )
        self.initial["roles_of"] = self.roles_revision.pk if self.roles_revision else None
        self.roles_posted_for = self.data.get("roles_of") if self.is_bound else None
        if self.is_bound:
            # The selects shown next are the chosen revision's, whatever was posted.
            self.data = self.data.copy()
            self.data["roles_of"] = self.initial["roles_of"] or ""

    def _shown_revision(self, revisions):
        chosen = self.data.get("revision") if self.is_bound else self.initial.get("revision")
        if chosen is not None and str(chosen).isdecimal() and str(chosen).isascii():
            found = revisions.filter(pk=int(chosen)).first()
            if found is not None:
                return found
        return revisions.first()

    @property
    def base_fields_shown(self):
        return [f for f in self if not f.name.startswith("approver_") and not f.is_hidden]

    @property
    def approver_fields(self):
        return [self[f"approver_{role.pk}"] for role in self.roles]

    def clean_release_name(self):
        return self.cleaned_data["release_name"].strip()

    def clean(self):
        data = super().clean()
        revision = data.get("revision")
        if revision is not None and self.roles_posted_for not in (None, "", str(revision.pk)):
            raise forms.ValidationError(
                "The checklist template changed: pick its approvers below, then create."
            )
        seen = {}
        for role in self.roles:
            user = data.get(f"approver_{role.pk}")
            if user is None:
                continue
            if user.pk in seen:
                self.add_error(
                    f"approver_{role.pk}",
                    f"{_person(user)} already approves {seen[user.pk]}: one person holds "
                    "at most one sign-off role. Pick someone else.",
                )
            else:
                seen[user.pk] = role.name
        return data

    def approver_pairs(self) -> list[tuple]:
        """(user, sign-off role name) for each role given an approver."""
        return [
            (self.cleaned_data[f"approver_{role.pk}"], role.name)
            for role in self.roles
            if self.cleaned_data.get(f"approver_{role.pk}") is not None
        ]


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
