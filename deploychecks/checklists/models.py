"""Checklist templates, versioned: every edit creates a new TemplateRevision.

A revision owns its whole structure (phases, sections, steps, items, sub-checks,
sign-off roles, contacts, notes), so older revisions stay readable and a
deployment can snapshot exactly the revision it was started from.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


def _non_empty(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=~Q(**{field: ""}), name=name)


class ChecklistTemplate(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [_non_empty("name", "template_name_not_empty")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("checklists:detail", args=[self.pk])

    @property
    def latest_revision(self):
        return self.revisions.order_by("-number").first()


class TemplateRevision(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    change_note = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    # The Markdown this revision was imported from, kept verbatim.
    source_markdown = models.TextField(blank=True)
    time_required = models.CharField(max_length=100, blank=True)
    rollback_time = models.CharField(max_length=100, blank=True)
    # Completing a deployment waits this long after go-live (the seed's "72 hours");
    # None when the template states no window. Inferred at import, editable.
    monitoring_hours = models.PositiveIntegerField(null=True, blank=True)
    # Separation of duties, like GitLab's "prevent approval by users who add
    # commits": nobody may sign off a role after ticking, marking N/A or noting
    # an item of a phase that role covers. Edited on the revision's sign-off
    # rules page (signoffs), inherited by the template's next revision, copied
    # onto each deployment.
    require_independent_approvers = models.BooleanField(default=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="revision_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
        ]

    def __str__(self):
        return f"{self.template.name} r{self.number}"

    def get_absolute_url(self):
        return reverse("checklists:revision", args=[self.template_id, self.number])


class Stage(models.TextChoices):
    """Where a phase sits relative to go-live: what gates going live and completing."""

    BEFORE = "before", "Before go-live"
    AFTER = "after", "After go-live"
    ROLLBACK = "rollback", "Rollback procedure"


class DueAnchor(models.TextChoices):
    """What an item's due time counts from (checklists.parser.owners)."""

    PHASE = "phase", "phase start"
    GO_LIVE = "go_live", "go-live"
    WINDOW = "window", "window start"


class Phase(models.Model):
    revision = models.ForeignKey(TemplateRevision, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    timing_label = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True)
    # Inferred at import (checklists.stages), editable per revision.
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.BEFORE)

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "position"], name="phase_position_unique"),
            _non_empty("title", "phase_title_not_empty"),
        ]

    def __str__(self):
        return self.title


class Section(models.Model):
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    timing_label = models.CharField(max_length=120, blank=True)
    notes = models.TextField(blank=True)
    # Trailing `@owner` tokens of its heading (checklists.parser.owners): the
    # owners of its items that name none of their own.
    owners = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "position"], name="section_position_unique"),
            _non_empty("title", "section_title_not_empty"),
        ]

    def __str__(self):
        return self.title


class Step(models.Model):
    """A numbered group of items with a time budget, e.g. a rollback step."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="steps")
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, related_name="steps"
    )
    # Shares the phase's ordering space with Item.position, so steps and loose
    # items keep their document order.
    position = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "position"], name="step_position_unique"),
            _non_empty("title", "step_title_not_empty"),
        ]

    def __str__(self):
        return self.title


class Item(models.Model):
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    summary = models.CharField(max_length=500, blank=True)
    details = models.TextField(blank=True)
    required = models.BooleanField(default=True)
    # The key its Markdown names (`<!-- key: … -->`), else "": a deployment's
    # items get the slug of their title then (checklists.parser.keys).
    key = models.CharField(max_length=80, blank=True)
    # Trailing `@owner` tokens and `(due …)` of its Markdown (checklists.parser.owners).
    owners = models.JSONField(default=list, blank=True)
    due_minutes = models.IntegerField(null=True, blank=True)
    due_anchor = models.CharField(max_length=10, choices=DueAnchor.choices, blank=True)
    # `(evidence required)` in its Markdown (checklists.parser.text): ticking it
    # needs a link or a file first (deploychecks.evidence).
    evidence_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["phase", "position"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "position"], name="item_position_unique"),
            _non_empty("title", "item_title_not_empty"),
            models.CheckConstraint(
                condition=Q(due_anchor="", due_minutes__isnull=True)
                | (~Q(due_anchor="") & Q(due_minutes__isnull=False)),
                name="item_due_has_anchor",
            ),
        ]

    def __str__(self):
        return self.title


class SubCheck(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="subchecks")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=500)

    class Meta:
        ordering = ["item", "position"]
        constraints = [
            models.UniqueConstraint(fields=["item", "position"], name="subcheck_position_unique"),
            _non_empty("title", "subcheck_title_not_empty"),
        ]

    def __str__(self):
        return self.title


class SignoffRole(models.Model):
    revision = models.ForeignKey(
        TemplateRevision, on_delete=models.CASCADE, related_name="signoff_roles"
    )
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    # Its valid approval is needed to go live, not only to complete (default: no).
    before_go_live = models.BooleanField(default=False)
    # The phases whose work this role's approval vouches for: all of them unless
    # an admin narrows it (then `covered_phases`). The independence rule of the
    # revision keeps anyone who worked on a covered phase from signing the role.
    covers_all_phases = models.BooleanField(default=True)
    covered_phases = models.ManyToManyField(Phase, blank=True, related_name="+")

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "position"], name="role_position_unique"),
            models.UniqueConstraint(fields=["revision", "name"], name="role_name_unique"),
            _non_empty("name", "role_name_not_empty"),
        ]

    def __str__(self):
        return self.name


class Contact(models.Model):
    revision = models.ForeignKey(
        TemplateRevision, on_delete=models.CASCADE, related_name="contacts"
    )
    position = models.PositiveIntegerField()
    role = models.CharField(max_length=120)
    person = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=60, blank=True)
    handle = models.CharField(max_length=120, blank=True)
    # False while the row holds placeholders ("[Name]", "@name", "TBD") or nothing
    # to reach anyone by; shown as "not filled in" and copied to deployments.
    filled_in = models.BooleanField(default=True)

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "position"], name="contact_position_unique"
            ),
            _non_empty("role", "contact_role_not_empty"),
        ]

    def __str__(self):
        return self.role


class TemplateNote(models.Model):
    """Informational blocks: overview, success criteria, final notes and the like."""

    revision = models.ForeignKey(TemplateRevision, on_delete=models.CASCADE, related_name="notes")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    before_phases = models.BooleanField(default=False)

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "position"], name="note_position_unique"),
            _non_empty("title", "note_title_not_empty"),
        ]

    def __str__(self):
        return self.title
