"""A deployment's own copy of the template revision it starts from."""

from deploychecks.checklists.parser.keys import assign_keys
from deploychecks.runs.models import (
    Deployment,
    DeploymentContact,
    DeploymentRole,
    RunItem,
    RunPhase,
    RunSection,
    RunStep,
    RunSubCheck,
)


def copy_revision(deployment: Deployment, revision) -> None:
    """Copy the revision's phases, sections, steps, items, sub-checks, sign-off roles
    and contacts into the deployment: later template edits never change it."""
    items, subchecks, run_phases, template_keys = [], [], {}, {}
    for phase in revision.phases.all():
        run_phase = RunPhase.objects.create(
            deployment=deployment,
            position=phase.position,
            title=phase.title,
            timing_label=phase.timing_label,
            notes=phase.notes,
            stage=phase.stage,
        )
        run_phases[phase.pk] = run_phase
        sections = {
            s.pk: RunSection.objects.create(
                phase=run_phase,
                position=s.position,
                title=s.title,
                timing_label=s.timing_label,
                notes=s.notes,
                owners=s.owners,
            )
            for s in phase.sections.all()
        }
        # A section's owners are its items' when they name none of their own.
        section_owners = {s.pk: s.owners for s in phase.sections.all()}
        steps = {
            s.pk: RunStep.objects.create(
                phase=run_phase,
                section=sections.get(s.section_id),
                position=s.position,
                number=s.number,
                title=s.title,
                minutes=s.minutes,
                notes=s.notes,
            )
            for s in phase.steps.all()
        }
        for item in phase.items.all():
            run_item = RunItem(
                deployment=deployment,
                phase=run_phase,
                section=sections.get(item.section_id),
                step=steps.get(item.step_id),
                position=item.position,
                title=item.title,
                summary=item.summary,
                details=item.details,
                required=item.required,
                owners=item.owners or section_owners.get(item.section_id) or [],
                due_minutes=item.due_minutes,
                due_anchor=item.due_anchor,
                evidence_required=item.evidence_required,
            )
            items.append(run_item)
            template_keys[id(run_item)] = item.key
            subchecks.extend((run_item, sub) for sub in item.subchecks.all())
    keys = assign_keys((template_keys[id(i)], i.title) for i in items)
    for run_item, key in zip(items, keys, strict=True):
        run_item.key = key
    RunItem.objects.bulk_create(items)
    RunSubCheck.objects.bulk_create(
        RunSubCheck(item=run_item, position=sub.position, title=sub.title)
        for run_item, sub in subchecks
    )
    _copy_roles(deployment, revision, run_phases)
    DeploymentContact.objects.bulk_create(
        DeploymentContact(
            deployment=deployment,
            position=c.position,
            role=c.role,
            person=c.person,
            phone=c.phone,
            handle=c.handle,
            filled_in=c.filled_in,
        )
        for c in revision.contacts.all()
    )


def _copy_roles(deployment: Deployment, revision, run_phases: dict) -> None:
    """The sign-off roles, each with the phases it covers (signoffs' independence rule)."""
    template_roles = list(revision.signoff_roles.all())
    roles = DeploymentRole.objects.bulk_create(
        DeploymentRole(
            deployment=deployment,
            position=r.position,
            name=r.name,
            before_go_live=r.before_go_live,
            covers_all_phases=r.covers_all_phases,
        )
        for r in template_roles
    )
    Covered = DeploymentRole.covered_phases.through
    Covered.objects.bulk_create(
        Covered(deploymentrole_id=role.pk, runphase_id=run_phases[phase_id].pk)
        for template_role, role in zip(template_roles, roles, strict=True)
        if not template_role.covers_all_phases
        # Only the narrowed roles cost a query.
        for phase_id in template_role.covered_phases.values_list("pk", flat=True)
    )
