"""What the run page shows, for one user: its header and gate, the features'
panels (runs.hooks.run_page) and the phases (cached HTML unless rollback mode)."""

from dataclasses import dataclass, field

from deploychecks.accounts.reauth import reauth_is_fresh
from deploychecks.core.errors import GateClosed
from deploychecks.runs import access, hooks, status
from deploychecks.runs.fragments import (
    checklist_phases,
    current_phase,
    load_checklist,
    overall_progress,
)
from deploychecks.runs.hooks import Unmet

S = status.S
# Button labels, in the order the buttons appear.
TRANSITION_LABELS = {
    S.IN_PROGRESS: "Start deployment",
    S.MONITORING: "Go live: start monitoring",
    S.COMPLETED: "Complete",
    S.ROLLED_BACK: "Mark rolled back",
    S.ABORTED: "Abort",
}
GATED = {S.MONITORING: "Going live", S.COMPLETED: "Completing"}
ACTIONS = {S.MONITORING: "go live", S.COMPLETED: "complete"}
# Items listed in full up to this many; the rest behind "Show all".
SHOWN = 8


@dataclass
class Group:
    needs: str
    conditions: list[Unmet]

    @property
    def shown(self) -> list[Unmet]:
        return self.conditions[:SHOWN]

    @property
    def more(self) -> list[Unmet]:
        return self.conditions[SHOWN:]


@dataclass
class Gate:
    to: str
    unmet: list[Unmet]
    groups: list[Group] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{GATED[self.to]} needs"

    @property
    def action(self) -> str:
        return ACTIONS[self.to]

    @property
    def overridable(self) -> bool:
        return all(condition.overridable for condition in self.unmet)

    @property
    def needs_acknowledgement(self) -> bool:
        return any(condition.key == "verdict:yellow" for condition in self.unmet)


def _gate(to: str, unmet: list[Unmet]) -> Gate:
    groups: dict[str, Group] = {}
    for condition in unmet:
        groups.setdefault(condition.needs, Group(condition.needs, [])).conditions.append(condition)
    return Gate(to=to, unmet=unmet, groups=list(groups.values()))


def gate_context(request, deployment, role, *, refused: GateClosed | None = None) -> dict:
    """The gates of the next gated transitions, for those who may act on them."""
    may_override = status.may_override(request.user, role)
    if deployment.is_finished or not (access.can_edit(role) or may_override):
        return {"gates": []}
    gates = []
    for to in sorted(status.TRANSITIONS[deployment.status] & set(GATED)):
        unmet = status.gate(deployment, to, user=request.user)
        if refused is not None and request.POST.get("to") == to:
            unmet = refused.unmet
        if unmet:
            gates.append(_gate(to, unmet))
    return {
        "gates": gates,
        "may_override": may_override,
        "override_reauth_needed": may_override and not reauth_is_fresh(request),
    }


def page_context(request, deployment, role, *, refused=None) -> dict:
    """Everything the run page (and its resync fragment) shows, for this user."""
    can_edit = access.can_edit(role) and not deployment.is_finished
    transitions = [
        (s, TRANSITION_LABELS[s])
        for s in sorted(status.TRANSITIONS[deployment.status], key=list(TRANSITION_LABELS).index)
    ]
    context = {
        "deployment": deployment,
        "role": role,
        "can_edit": can_edit,
        # Any note's Edit/Delete (else only one's own: static/js/notes.js hides the others,
        # the rows being shared by every editor; runs.services checks every change).
        "may_change_any_note": access.may_change_any_note(request.user, role),
        "transitions": transitions,
        # Rows of the contacts table still holding placeholders: never escalated
        # to, and going live asks for them (runs.gates.contacts_unmet).
        "contacts_missing": []
        if deployment.is_finished
        else list(deployment.contacts.filter(filled_in=False).values_list("role", flat=True)),
        **gate_context(request, deployment, role, refused=refused),
    }

    def load_phases():
        phases = load_checklist(deployment)
        context.update(
            phases=phases,
            overall=overall_progress(phases),
            current=current_phase(phases, deployment),
        )
        return phases

    # The features add their panels (sign-offs, go/no-go); rollback mode asks for
    # the phases themselves, whose step timings follow the clock.
    page = hooks.RunPage(request, deployment, role, context, loader=load_phases)
    hooks.run_page.send(page)
    if page.phases is None:
        # Nothing in the phases depends on the clock: their HTML is reused as
        # long as the deployment's version is the same.
        phases_html, overall = checklist_phases(deployment, can_edit)
        context.update(phases_html=phases_html, overall=overall)
    return context
