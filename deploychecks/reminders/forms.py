from django import forms
from django.forms import BaseModelFormSet, modelformset_factory

from deploychecks.core import webhooks
from deploychecks.reminders.models import (
    CONTACT_PREFIX,
    NOTIFY_CHOICES,
    NOTIFY_VALUES,
    ReminderRule,
)


class LinesField(forms.CharField):
    """A list of strings edited as one line each."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ReminderRuleForm(forms.ModelForm):
    items = LinesField(
        required=False,
        label="Items it concerns",
        help_text="One item (or section) title per line; part of a title is enough.",
    )
    notify = forms.MultipleChoiceField(
        choices=NOTIFY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label="Notify"
    )
    contact_roles = forms.CharField(
        required=False,
        max_length=500,
        label="Also notify contacts",
        help_text="Roles from the deployment's contacts table, comma-separated "
        "(e.g. DevOps lead); those with an email address are emailed.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        notify = self.instance.notify or []
        self.initial["notify"] = [v for v in notify if v in NOTIFY_VALUES]
        self.initial["contact_roles"] = ", ".join(
            v[len(CONTACT_PREFIX) :] for v in notify if v.startswith(CONTACT_PREFIX)
        )

    def clean(self):
        cleaned = super().clean()
        roles = [r.strip() for r in cleaned.get("contact_roles", "").split(",") if r.strip()]
        cleaned["notify"] = [*cleaned.get("notify", []), *(CONTACT_PREFIX + r for r in roles)]
        self.instance.notify = cleaned["notify"]
        return cleaned

    class Meta:
        model = ReminderRule
        fields = [
            "title",
            "kind",
            "offset_minutes",
            "start_minutes",
            "end_minutes",
            "interval_minutes",
            "items",
            "notify",
        ]
        labels = {
            "offset_minutes": "At (minutes after go-live)",
            "start_minutes": "From (minutes)",
            "end_minutes": "Until (minutes)",
            "interval_minutes": "Every (minutes)",
        }
        widgets = {
            f: forms.NumberInput(attrs={"min": 0, "step": 1})
            for f in ("offset_minutes", "start_minutes", "end_minutes")
        }
        widgets["interval_minutes"] = forms.NumberInput(attrs={"min": 1, "step": 1})


class BaseRuleFormSet(BaseModelFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if len(kept) > 100:
            raise forms.ValidationError("At most 100 rules per template revision.")


RuleFormSet = modelformset_factory(
    ReminderRule, form=ReminderRuleForm, formset=BaseRuleFormSet, extra=1, can_delete=True
)


class RescheduleForm(forms.Form):
    go_live_at = forms.DateTimeField(
        label="Went live at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Slack-compatible incoming webhook. Empty removes it.",
    )
    secret = forms.CharField(
        label="Signing secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Required: every request is signed (Standard Webhooks, webhook-signature "
        "header). whsec_ followed by base64 of 24 to 64 random bytes; empty keeps the current "
        "one. The webhook must be on a public address.",
    )

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if secret and (problem := webhooks.secret_problem(secret)):
            raise forms.ValidationError(problem)
        return secret
