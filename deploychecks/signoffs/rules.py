"""A template revision's sign-off rules: the independence switch and what each role covers.

The rules live on the revision (checklists.TemplateRevision.require_independent_approvers,
SignoffRole.covers_all_phases / covered_phases), are inherited by the template's next
revision (checklists.services.inherit_signoff_rules) and copied onto each deployment
(runs.snapshot). Admins change them here, audited; deployments already started keep
the rules they copied.
"""

from dataclasses import dataclass

from django.db import transaction

from deploychecks.audit.services import record_event
from deploychecks.checklists.models import SignoffRole, TemplateRevision


@dataclass
class RoleCoverage:
    role: SignoffRole
    all_phases: bool
    phase_ids: set[int]


def coverage_of(revision: TemplateRevision) -> list[RoleCoverage]:
    """Each sign-off role of the revision with the phases it covers, in order."""
    roles = revision.signoff_roles.order_by("position").prefetch_related("covered_phases")
    return [
        RoleCoverage(
            role=role,
            all_phases=role.covers_all_phases,
            phase_ids={phase.pk for phase in role.covered_phases.all()},
        )
        for role in roles
    ]


def describe(revision: TemplateRevision, coverage: list[RoleCoverage]) -> dict:
    """The rules in words, for the audit log: {"independent": bool, "roles": {name: …}}."""
    titles = {phase.pk: phase.title for phase in revision.phases.all()}
    return {
        "independent": revision.require_independent_approvers,
        "roles": {
            c.role.name: "all phases"
            if c.all_phases
            else [titles[pk] for pk in sorted(c.phase_ids, key=list(titles).index)]
            for c in coverage
        },
    }


@transaction.atomic
def save_signoff_rules(
    revision: TemplateRevision,
    *,
    require_independent: bool,
    coverage: dict[int, set[int] | None],
    user,
    request=None,
) -> bool:
    """Set the revision's independence switch and, per role id, the covered phase ids
    (None: all phases). Returns whether anything changed; a change is audited."""
    revision = TemplateRevision.objects.select_for_update().get(pk=revision.pk)
    phase_ids = set(revision.phases.values_list("pk", flat=True))
    before_rows = coverage_of(revision)
    before = describe(revision, before_rows)
    revision.require_independent_approvers = require_independent
    revision.save(update_fields=["require_independent_approvers"])
    for row in before_rows:
        wanted = coverage.get(row.role.pk, None if row.all_phases else row.phase_ids)
        row.role.covers_all_phases = wanted is None
        row.role.save(update_fields=["covers_all_phases"])
        row.role.covered_phases.set(sorted((wanted or set()) & phase_ids))
    after = describe(revision, coverage_of(revision))
    if after == before:
        return False
    record_event(
        action="template.signoff_rules",
        actor=user,
        target=revision,
        before=before,
        after=after,
        request=request,
    )
    return True
