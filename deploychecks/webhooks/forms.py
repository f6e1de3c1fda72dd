from django import forms
from django.conf import settings

from deploychecks.core import webhooks
from deploychecks.webhooks.catalog import EVENT_CHOICES
from deploychecks.webhooks.models import Subscription

ALL_SERVICES = ""


class SubscriptionForm(forms.Form):
    """A subscription's fields. `services` is what the person may choose: None for
    an admin (any service, or all), else the services they lead."""

    name = forms.CharField(max_length=120, help_text="For you: e.g. “#deploys channel”.")
    url = forms.URLField(
        label="Receiver URL",
        max_length=500,
        assume_scheme="https",
        help_text="Must be on a public address (or a host named in WEBHOOK_ALLOWED_HOSTS).",
    )
    format = forms.ChoiceField(
        choices=Subscription.Format.choices, initial=Subscription.Format.STANDARD
    )
    service = forms.CharField(max_length=120, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        error_messages={"required": "Choose at least one event."},
    )

    def __init__(self, *args, services: list[str] | None, **kwargs):
        super().__init__(*args, **kwargs)
        if services is None:
            self.fields["service"].help_text = "One service, or empty for every service."
        else:
            self.fields["service"] = forms.ChoiceField(
                choices=[(s, s) for s in services],
                help_text="A service whose deployments you lead.",
            )

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        # What is wrong without a DNS lookup; the service then resolves the host.
        if problem := webhooks.literal_url_problem(url, settings.WEBHOOK_ALLOWED_HOSTS):
            raise forms.ValidationError(problem)
        return url


class EditSubscriptionForm(SubscriptionForm):
    new_secret = forms.BooleanField(
        required=False,
        label="Replace the signing secret",
        help_text="The new one is shown once; the receiver must switch to it.",
    )
