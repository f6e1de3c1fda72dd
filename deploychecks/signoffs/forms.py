from django import forms
from django.contrib.auth import get_user_model

from deploychecks.runs.models import DeploymentRole


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user.get_full_name() or user.username} ({user.username})"


class AssignApproverForm(forms.Form):
    role = forms.ModelChoiceField(queryset=DeploymentRole.objects.none(), label="Sign-off role")
    user = UserChoiceField(queryset=get_user_model().objects.none(), label="Person")
    kind = forms.ChoiceField(
        choices=[("primary", "Approver"), ("backup", "Backup")], initial="primary", label="As"
    )

    def __init__(self, deployment, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = deployment.signoff_roles.order_by("position")
        # The lead is never offered: they may not approve their own deployment.
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk=deployment.lead_id)
            .order_by("username")
        )


class SignoffRulesForm(forms.Form):
    """A template revision's sign-off rules: the independence switch, and per role
    either all phases or the phases ticked (fields `all_<role id>`, `phases_<role id>`)."""

    require_independent = forms.BooleanField(
        required=False,
        label="Approvers must be independent",
        help_text="Nobody may sign a role after ticking, marking N/A or noting an item "
        "of a phase that role covers.",
    )

    def __init__(self, revision, coverage, *args, **kwargs):
        initial = {"require_independent": revision.require_independent_approvers}
        for row in coverage:
            initial[f"all_{row.role.pk}"] = row.all_phases
            initial[f"phases_{row.role.pk}"] = [str(pk) for pk in sorted(row.phase_ids)]
        super().__init__(*args, initial=initial, **kwargs)
        phases = [(str(p.pk), p.title) for p in revision.phases.order_by("position")]
        self.roles = []
        for row in coverage:
            all_field, phases_field = f"all_{row.role.pk}", f"phases_{row.role.pk}"
            self.fields[all_field] = forms.BooleanField(required=False, label="All phases")
            self.fields[phases_field] = forms.MultipleChoiceField(
                required=False,
                choices=phases,
                widget=forms.CheckboxSelectMultiple,
                label="Only these phases",
            )
            self.roles.append((row.role, self[all_field], self[phases_field]))

    def coverage(self) -> dict[int, set[int] | None]:
        """Role id -> covered phase ids, None for all phases (after is_valid())."""
        data = self.cleaned_data
        return {
            role.pk: None
            if data[f"all_{role.pk}"]
            else {int(pk) for pk in data[f"phases_{role.pk}"]}
            for role, _, _ in self.roles
        }
