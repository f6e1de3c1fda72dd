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
