"""The template revision every seeded deployment copies, flattened once.

Indexes instead of database ids: a story allocates its own rows' ids and maps
phases, sections, steps and items by position in these lists.
"""

from dataclasses import dataclass, field

from deploychecks.checklists.parser.keys import assign_keys
from deploychecks.checklists.services import revision_with_structure
from deploychecks.gonogo.definitions import definitions_for
from deploychecks.gonogo.rollback import stated_budget
from deploychecks.reminders.models import ReminderRule


@dataclass
class Node:
    """A phase, section, step or item of the template, with its parents as indexes."""

    position: int
    title: str
    phase: int | None = None
    section: int | None = None
    step: int | None = None
    timing_label: str = ""
    notes: str = ""
    number: int | None = None
    minutes: int | None = None
    summary: str = ""
    details: str = ""
    required: bool = True
    stage: str = ""
    subchecks: list = field(default_factory=list)
    key: str = ""  # an item's key in every deployment (checklists.parser.keys)

    @property
    def is_rollback(self) -> bool:
        return self.stage == "rollback"


@dataclass
class Rule:
    id: int
    title: str
    offsets: list
    items: list  # item indexes
    notify: list


@dataclass
class Shape:
    revision_id: int
    template_name: str
    label: str
    phases: list
    sections: list
    steps: list
    items: list
    roles: list
    contacts: list
    signals: list
    rules: list
    rollback_steps: list = field(default_factory=list)
    step_items: dict = field(default_factory=dict)
    rollback_budget: int = 0
    monitoring_hours: int | None = None


def load_shape(revision) -> Shape:
    revision = revision_with_structure().get(pk=revision.pk)
    phases, sections, steps, items = [], [], [], []
    section_index, step_index = {}, {}
    for phase in revision.phases.all():
        p = len(phases)
        phases.append(
            Node(
                phase.position,
                phase.title,
                timing_label=phase.timing_label,
                notes=phase.notes,
                stage=phase.stage,
            )
        )
        for s in phase.sections.all():
            section_index[s.pk] = len(sections)
            sections.append(
                Node(s.position, s.title, phase=p, timing_label=s.timing_label, notes=s.notes)
            )
        for s in phase.steps.all():
            step_index[s.pk] = len(steps)
            steps.append(
                Node(
                    s.position,
                    s.title,
                    phase=p,
                    section=section_index.get(s.section_id),
                    number=s.number,
                    minutes=s.minutes,
                    notes=s.notes,
                )
            )
        for item in phase.items.all():
            items.append(
                Node(
                    item.position,
                    item.title,
                    phase=p,
                    section=section_index.get(item.section_id),
                    step=step_index.get(item.step_id),
                    summary=item.summary,
                    details=item.details,
                    required=item.required,
                    subchecks=[sub.title for sub in item.subchecks.all()],
                    key=item.key,
                )
            )
    # Keyed as copy_revision keys a deployment's items, once for every deployment.
    for node, key in zip(items, assign_keys((n.key, n.title) for n in items), strict=True):
        node.key = key
    shape = Shape(
        revision_id=revision.pk,
        template_name=revision.template.name,
        label=f"{revision.template.name} r{revision.number}",
        phases=phases,
        sections=sections,
        steps=steps,
        items=items,
        roles=[r.name for r in revision.signoff_roles.all()],
        contacts=[(c.role, c.person, c.phone, c.handle) for c in revision.contacts.all()],
        signals=sorted(definitions_for(revision), key=lambda d: (d.position, d.pk)),
        rules=[],
        monitoring_hours=revision.monitoring_hours,
    )
    for rule in ReminderRule.objects.filter(revision=revision).order_by("position"):
        shape.rules.append(
            Rule(
                rule.id,
                rule.title,
                rule.offsets(),
                _match_items(items, sections, rule.items),
                list(rule.notify),
            )
        )
    rollback = [k for k, p in enumerate(phases) if p.is_rollback][:1]
    shape.rollback_steps = sorted(
        (k for k, s in enumerate(steps) if s.phase in rollback), key=lambda k: steps[k].position
    )
    shape.step_items = {
        k: [i for i, item in enumerate(items) if item.step == k] for k in shape.rollback_steps
    }
    shape.rollback_budget = _budget(revision, phases, sections, steps, shape.rollback_steps)
    return shape


def _match_items(items, sections, texts) -> list[int]:
    """reminders.services._ItemMatcher, over the template's items."""
    found: list[int] = []
    for needle in (t.strip().casefold() for t in texts):
        if not needle:
            continue
        hits = [i for i, item in enumerate(items) if needle in item.title.casefold()]
        if not hits:
            hits = [
                i
                for i, item in enumerate(items)
                if item.section is not None and needle in sections[item.section].title.casefold()
            ]
        found.extend(i for i in hits if i not in found)
    return found


def _budget(revision, phases, sections, steps, rollback_steps) -> int:
    """gonogo.rollback.procedure_budget, over the template."""
    if not rollback_steps:
        return 0
    labels = [
        sections[steps[k].section].timing_label
        for k in rollback_steps
        if steps[k].section is not None
    ]
    labels += [phases[steps[rollback_steps[0]].phase].timing_label, revision.rollback_time]
    stated = stated_budget(labels)
    return stated if stated is not None else sum(steps[k].minutes or 0 for k in rollback_steps)
