from django import forms

from deploychecks.gonogo.models import Direction, Kind


class ReadingForm(forms.Form):
    signal = forms.CharField(max_length=80)
    value = forms.CharField(max_length=40, help_text="A number; yes or no for yes/no signals.")
    observed_at = forms.DateTimeField(
        required=False,
        label="Observed at (UTC)",
        help_text="Leave empty for now.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
        input_formats=[
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ],
    )
    note = forms.CharField(max_length=500, required=False)


class SignalDefinitionForm(forms.Form):
    name = forms.CharField(max_length=80, required=False)
    unit = forms.CharField(max_length=40, required=False)
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.NUMBER)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.ABOVE)
    yellow_at = forms.FloatField(required=False, label="Yellow from")
    yellow_inclusive = forms.BooleanField(required=False, initial=True, label="incl.")
    red_at = forms.FloatField(required=False, label="Red from")
    red_inclusive = forms.BooleanField(required=False, label="incl.")
    sustained_minutes = forms.IntegerField(
        required=False, min_value=1, label="Rollback if red for more than (min)"
    )


SignalDefinitionFormSet = forms.formset_factory(
    SignalDefinitionForm, extra=2, can_delete=True, max_num=30
)
