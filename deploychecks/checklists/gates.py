"""A revision's go-live gate settings, edited in place by admins: each phase's
stage, the monitoring window, and the sign-offs needed before go-live.

Like thresholds and reminder rules: deployments copy them when they start, so
running ones keep theirs; the next revision inherits what an admin changed
(checklists.stages.settle_gates).
"""

from django import forms
from django.db import transaction

from deploychecks.audit.services import record_event
from deploychecks.checklists.models import Phase, SignoffRole, Stage, TemplateRevision

WINDOW_MAX_HOURS = 24 * 30


class GatesForm(forms.Form):
    """One stage field per phase, one checkbox per sign-off role, and the window."""

    monitoring_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=WINDOW_MAX_HOURS,
        label="Monitoring window (hours after go-live)",
        help_text="Completing earlier needs an override. Leave empty for no window.",
    )

    def __init__(self, revision: TemplateRevision, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.revision = revision
        self.phases = list(revision.phases.order_by("position"))
        self.roles = list(revision.signoff_roles.order_by("position"))
        self.fields["monitoring_hours"].initial = revision.monitoring_hours
        for phase in self.phases:
            self.fields[f"stage_{phase.pk}"] = forms.ChoiceField(
                choices=Stage.choices, initial=phase.stage, label=phase.title
            )
        for role in self.roles:
            self.fields[f"role_{role.pk}"] = forms.BooleanField(
                required=False, initial=role.before_go_live, label=role.name
            )

    def clean(self):
        cleaned = super().clean()
        stages = [cleaned.get(f"stage_{p.pk}") for p in self.phases]
        if self.phases and not any(s in (Stage.BEFORE, Stage.AFTER) for s in stages):
            raise forms.ValidationError("At least one phase must be before or after go-live.")
        return cleaned

    def stage_fields(self):
        return [self[f"stage_{p.pk}"] for p in self.phases]

    def role_fields(self):
        return [self[f"role_{r.pk}"] for r in self.roles]


def summary(revision: TemplateRevision) -> dict:
    return {
        "stages": dict(revision.phases.order_by("position").values_list("title", "stage")),
        "monitoring_hours": revision.monitoring_hours,
        "before_go_live": list(
            revision.signoff_roles.filter(before_go_live=True)
            .order_by("position")
            .values_list("name", flat=True)
        ),
    }


@transaction.atomic
def save_gates(form: GatesForm, *, user, request=None) -> bool:
    """Store the form's settings on its revision; audited. False if nothing changed."""
    revision = TemplateRevision.objects.select_for_update().get(pk=form.revision.pk)
    before = summary(revision)
    data = form.cleaned_data
    for phase in form.phases:
        phase.stage = data[f"stage_{phase.pk}"]
    for role in form.roles:
        role.before_go_live = data[f"role_{role.pk}"]
    Phase.objects.bulk_update(form.phases, ["stage"])
    SignoffRole.objects.bulk_update(form.roles, ["before_go_live"])
    revision.monitoring_hours = data["monitoring_hours"]
    revision.save(update_fields=["monitoring_hours"])
    after = summary(revision)
    if after == before:
        return False
    record_event(
        action="template_gates.changed",
        actor=user,
        target=revision,
        before=before,
        after=after,
        request=request,
    )
    return True
