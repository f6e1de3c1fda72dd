"""Every write to checklist templates goes through here."""

from collections.abc import Callable

from django.db import transaction
from django.db.models import Max, Prefetch

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.models import (
    ChecklistTemplate,
    Contact,
    Item,
    Phase,
    Section,
    SignoffRole,
    Step,
    SubCheck,
    TemplateNote,
    TemplateRevision,
)
from deploychecks.checklists.parser import (
    ChecklistParseError,
    ParsedContact,
    ParsedItem,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
    ParsedSignal,
    ParsedStep,
    ParsedSubCheck,
    ParsedTemplate,
    parse_checklist,
)
from deploychecks.checklists.stages import settle_gates


class TemplateNameTaken(ValueError):
    pass


@transaction.atomic
def save_template(
    parsed: ParsedTemplate,
    *,
    user=None,
    source: str = "",
    template: ChecklistTemplate | None = None,
    change_note: str = "",
) -> TemplateRevision:
    """Store `parsed` as a new template, or as the next revision of `template`.

    One transaction: a failure anywhere leaves nothing behind. Without `source`
    the revision keeps the exported Markdown, so what is derived from the Markdown
    later (go/no-go signals) is there too.
    """
    source = source or export_markdown(parsed)
    if template is None:
        if ChecklistTemplate.objects.filter(name=parsed.name).exists():
            raise TemplateNameTaken(
                f"a template named “{parsed.name}” already exists; import it as a new "
                "revision of that template, or rename the '# Title' line"
            )
        template = ChecklistTemplate.objects.create(name=parsed.name, created_by=user)
        number = 1
    else:
        template = ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
        number = (template.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    previous = template.revisions.order_by("-number").first() if number > 1 else None
    revision = TemplateRevision.objects.create(
        template=template,
        number=number,
        created_by=user,
        change_note=change_note[:300],
        description=parsed.description,
        source_markdown=source,
        time_required=parsed.metadata.get("time_required", "")[:100],
        rollback_time=parsed.metadata.get("rollback_time", "")[:100],
    )
    _save_structure(revision, parsed)
    settle_gates(revision)
    if previous is not None:
        inherit_signoff_rules(revision, previous)
    return revision


def inherit_signoff_rules(revision: TemplateRevision, previous: TemplateRevision) -> None:
    """A new revision keeps the sign-off rules an admin set on the one before:
    the independence switch, and each role's covered phases (roles matched by
    name, phases by title; a role or phase that is new covers as by default)."""
    if revision.require_independent_approvers != previous.require_independent_approvers:
        revision.require_independent_approvers = previous.require_independent_approvers
        revision.save(update_fields=["require_independent_approvers"])
    narrowed = {
        role.name.casefold(): {phase.title.casefold() for phase in role.covered_phases.all()}
        for role in previous.signoff_roles.filter(covers_all_phases=False).prefetch_related(
            "covered_phases"
        )
    }
    if not narrowed:
        return
    phases = {phase.title.casefold(): phase for phase in revision.phases.all()}
    for role in revision.signoff_roles.all():
        titles = narrowed.get(role.name.casefold())
        if titles is None:
            continue
        role.covers_all_phases = False
        role.save(update_fields=["covers_all_phases"])
        role.covered_phases.set([phases[t] for t in titles if t in phases])


def _save_structure(revision: TemplateRevision, parsed: ParsedTemplate) -> None:
    items: list[Item] = []
    subchecks: list[tuple[Item, list[ParsedSubCheck]]] = []

    def add_item(entry: ParsedItem, phase, section, step, position):
        item = Item(
            phase=phase,
            section=section,
            step=step,
            position=position,
            title=entry.title,
            summary=entry.summary,
            details=entry.details,
            required=entry.required,
            key=entry.key,
            owners=entry.owners,
            due_minutes=entry.due_minutes,
            due_anchor=entry.due_anchor,
            evidence_required=entry.evidence_required,
        )
        items.append(item)
        subchecks.append((item, entry.subchecks))

    for phase_pos, parsed_phase in enumerate(parsed.phases, start=1):
        phase = Phase.objects.create(
            revision=revision,
            position=phase_pos,
            title=parsed_phase.title,
            timing_label=parsed_phase.timing_label,
            notes=parsed_phase.notes,
        )
        position = 0
        containers = [(None, parsed_phase)] + [
            (
                Section.objects.create(
                    phase=phase,
                    position=pos,
                    title=s.title,
                    timing_label=s.timing_label,
                    notes=s.notes,
                    owners=s.owners,
                ),
                s,
            )
            for pos, s in enumerate(parsed_phase.sections, start=1)
        ]
        for section, container in containers:
            for entry in container.entries:
                position += 1
                if isinstance(entry, ParsedStep):
                    step = Step.objects.create(
                        phase=phase,
                        section=section,
                        position=position,
                        number=entry.number,
                        title=entry.title,
                        minutes=entry.minutes,
                        notes=entry.notes,
                    )
                    for child in entry.items:
                        position += 1
                        add_item(child, phase, section, step, position)
                else:
                    add_item(entry, phase, section, None, position)
    Item.objects.bulk_create(items)
    SubCheck.objects.bulk_create(
        SubCheck(item=item, position=pos, title=sub.title)
        for item, subs in subchecks
        for pos, sub in enumerate(subs, start=1)
    )
    SignoffRole.objects.bulk_create(
        SignoffRole(revision=revision, position=pos, name=name)
        for pos, name in enumerate(parsed.signoff_roles, start=1)
    )
    Contact.objects.bulk_create(
        Contact(
            revision=revision,
            position=pos,
            role=c.role,
            person=c.person,
            phone=c.phone,
            handle=c.handle,
            filled_in=c.filled_in,
        )
        for pos, c in enumerate(parsed.contacts, start=1)
    )
    TemplateNote.objects.bulk_create(
        TemplateNote(
            revision=revision,
            position=pos,
            title=n.title,
            body=n.body,
            before_phases=n.before_phases,
        )
        for pos, n in enumerate(parsed.notes, start=1)
    )


# --- Go/no-go signals -------------------------------------------------------------------
# A revision's signals are rows of the gonogo app, a layer above this one. It
# registers how to read them (GoNoGoConfig.ready) so an export carries the
# thresholds admins set; without it, the signals written in the Markdown count.

SignalSource = Callable[[TemplateRevision], list[ParsedSignal]]
_signal_source: list[SignalSource] = []


def register_signal_source(source: SignalSource) -> None:
    _signal_source[:] = [source]


def markdown_signals(markdown: str) -> list[ParsedSignal]:
    """The go/no-go signals a revision's Markdown defines (none if it does not parse)."""
    if not (markdown or "").strip():
        return []
    try:
        return parse_checklist(markdown).signals
    except ChecklistParseError:
        return []


def revision_signals(revision: TemplateRevision) -> list[ParsedSignal]:
    if _signal_source:
        return _signal_source[0](revision)
    return markdown_signals(revision.source_markdown)


def revision_with_structure(queryset=None):
    """A TemplateRevision queryset that prefetches the whole tree in a fixed number of queries."""
    queryset = queryset if queryset is not None else TemplateRevision.objects.all()
    return queryset.select_related("template").prefetch_related(
        Prefetch("phases", queryset=Phase.objects.order_by("position")),
        Prefetch("phases__sections", queryset=Section.objects.order_by("position")),
        Prefetch("phases__steps", queryset=Step.objects.order_by("position")),
        Prefetch(
            "phases__items",
            queryset=Item.objects.order_by("position").prefetch_related(
                Prefetch("subchecks", queryset=SubCheck.objects.order_by("position"))
            ),
        ),
        Prefetch("signoff_roles", queryset=SignoffRole.objects.order_by("position")),
        Prefetch("contacts", queryset=Contact.objects.order_by("position")),
        Prefetch("notes", queryset=TemplateNote.objects.order_by("position")),
    )


def load_parsed(revision: TemplateRevision) -> ParsedTemplate:
    """Rebuild the parser's structure from a stored revision (for export and comparison)."""
    revision = revision_with_structure().get(pk=revision.pk)
    metadata = {}
    if revision.time_required:
        metadata["time_required"] = revision.time_required
    if revision.rollback_time:
        metadata["rollback_time"] = revision.rollback_time
    parsed = ParsedTemplate(
        name=revision.template.name,
        description=revision.description,
        signoff_roles=[r.name for r in revision.signoff_roles.all()],
        contacts=[
            ParsedContact(c.role, c.person, c.phone, c.handle, c.filled_in)
            for c in revision.contacts.all()
        ],
        signals=revision_signals(revision),
        notes=[ParsedNote(n.title, n.body, n.before_phases) for n in revision.notes.all()],
        metadata=metadata,
    )
    for phase in revision.phases.all():
        parsed_phase = ParsedPhase(
            title=phase.title, timing_label=phase.timing_label, notes=phase.notes
        )
        containers: dict[int | None, ParsedSection] = {None: parsed_phase}
        for section in phase.sections.all():
            parsed_section = ParsedSection(
                title=section.title,
                timing_label=section.timing_label,
                notes=section.notes,
                owners=list(section.owners),
            )
            parsed_phase.sections.append(parsed_section)
            containers[section.pk] = parsed_section
        steps: dict[int, ParsedStep] = {}
        entries = sorted(
            [*phase.steps.all(), *(i for i in phase.items.all() if i.step_id is None)],
            key=lambda e: e.position,
        )
        for step in (e for e in entries if isinstance(e, Step)):
            steps[step.pk] = ParsedStep(
                number=step.number, title=step.title, minutes=step.minutes, notes=step.notes
            )
        for item in phase.items.all():
            if item.step_id is not None:
                steps[item.step_id].items.append(_parsed_item(item))
        for entry in entries:
            target = containers[entry.section_id]
            target.entries.append(
                steps[entry.pk] if isinstance(entry, Step) else _parsed_item(entry)
            )
        parsed.phases.append(parsed_phase)
    return parsed


def _parsed_item(item: Item) -> ParsedItem:
    return ParsedItem(
        title=item.title,
        summary=item.summary,
        details=item.details,
        required=item.required,
        subchecks=[ParsedSubCheck(s.title) for s in item.subchecks.all()],
        key=item.key,
        owners=list(item.owners),
        due_minutes=item.due_minutes,
        due_anchor=item.due_anchor,
        evidence_required=item.evidence_required,
    )
