"""Moving a deployment along its states, through its gate.

planned → in_progress → monitoring (go-live) → completed, or rolled_back /
aborted. Each move asks every guard registered on `runs.hooks.status_changing`
(the checklist's own in runs.gates, the verdict and rollback in gonogo, sign-offs
in signoffs); a refusal (`GateClosed`) names every unmet condition at once. The
lead or an admin may override the conditions of going live or completing with a
reason and a fresh password confirmation, naming exactly what they override.
"""

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name, is_admin
from deploychecks.accounts.reauth import reauth_is_fresh
from deploychecks.audit.services import record_event
from deploychecks.core.errors import GateClosed, IllegalTransition, NotAllowed, RunError
from deploychecks.core.text import REASON_MAX
from deploychecks.runs import access, hooks
from deploychecks.runs.changes import Change, resync_on_commit
from deploychecks.runs.models import Deployment, GateOverride

S = Deployment.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PLANNED: {S.IN_PROGRESS, S.ABORTED},
    S.IN_PROGRESS: {S.MONITORING, S.ROLLED_BACK, S.ABORTED},
    S.MONITORING: {S.COMPLETED, S.ROLLED_BACK, S.ABORTED},
    S.COMPLETED: set(),
    S.ROLLED_BACK: set(),
    S.ABORTED: set(),
}
FINISHED = (S.COMPLETED, S.ROLLED_BACK, S.ABORTED)
# The transitions whose gate may be overridden.
OVERRIDABLE = (S.MONITORING, S.COMPLETED)
# What a refusal says the deployment cannot be ("cannot be completed yet").
VERBS = {
    S.IN_PROGRESS: "started",
    S.MONITORING: "taken live",
    S.COMPLETED: "completed",
    S.ROLLED_BACK: "marked rolled back",
    S.ABORTED: "aborted",
}
ACK_MAX = 300


@transaction.atomic
def change_status(
    *,
    deployment_id: int,
    to: str,
    user,
    request=None,
    reason: str = "",
    acknowledgement: str = "",
    override_reason: str = "",
    override: list[str] | None = None,
) -> Change:
    """Move the deployment to `to` if its gate is open.

    `acknowledgement` is typed to go live on a YELLOW verdict. To go past unmet
    conditions, the lead or an admin gives `override_reason` and `override`, the
    keys of exactly the conditions unmet now (as the refusal listed them), and
    must have confirmed their password within the re-auth window (`request`).
    """
    deployment, role = access.lock(user, deployment_id)
    override_reason = (override_reason or "").strip()
    overriding = bool(override_reason) or bool(override)
    if overriding and not _may_override(user, role):
        raise NotAllowed("Only the lead of this deployment or an admin can override its gate.")
    if not access.can_edit(role) and not overriding:
        raise NotAllowed("Only the lead and engineers can change the deployment's status.")
    if to not in S.values:
        raise IllegalTransition(f"Unknown status {to!r}.")
    if overriding and to not in OVERRIDABLE:
        raise IllegalTransition("An override only applies to going live or completing.")
    acknowledgement = " ".join((acknowledgement or "").split())[:ACK_MAX]
    current = deployment.status
    if to == current:
        return Change(deployment, changed=False)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(S(s).label for s in sorted(TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            f"A deployment that is {S(current).label.lower()} cannot become "
            f"{S(to).label.lower()}. Allowed next: {allowed}."
        )
    change = hooks.StatusChange(
        deployment=deployment,
        actor=user,
        request=request,
        before=current,
        to=to,
        acknowledgement=acknowledgement,
        now=timezone.now(),
    )
    unmet = hooks.status_changing.unmet(change)
    if unmet and not overriding:
        raise GateClosed(hooks.describe(VERBS[to], unmet), unmet)
    if unmet:
        _override(change, unmet, override_reason, override or [])
    return _move(change, reason=reason)


def gate(deployment: Deployment, to: str, *, user=None, acknowledgement: str = "") -> list:
    """The conditions `to` would find unmet now (read-only: for pages and the API)."""
    change = hooks.StatusChange(
        deployment=deployment,
        actor=user,
        before=deployment.status,
        to=to,
        acknowledgement=acknowledgement,
        now=timezone.now(),
    )
    return hooks.status_changing.unmet(change)


def may_override(user, role: str | None) -> bool:
    return _may_override(user, role)


def move_on(event: hooks.ItemChanged, answer: hooks.AutoTransition) -> None:
    """An item change that ends a stage by itself (the last rollback step ticked →
    rolled back): one more status change in the same transaction, if allowed."""
    deployment = event.deployment
    if answer.to not in TRANSITIONS[deployment.status]:
        return
    change = hooks.StatusChange(
        deployment=deployment,
        actor=event.actor,
        request=event.request,
        before=deployment.status,
        to=answer.to,
        now=timezone.now(),
    )
    _move(change, reason=answer.reason)


def _may_override(user, role: str | None) -> bool:
    return role == "lead" or (role is not None and is_admin(user))


def _override(change: hooks.StatusChange, unmet, reason: str, keys: list[str]) -> None:
    """Record an override of exactly the unmet conditions, or refuse it."""
    verb = VERBS[change.to]
    hard = [condition for condition in unmet if not condition.overridable]
    if hard:
        raise GateClosed(
            hooks.describe(verb, hard) + " This cannot be overridden.",
            unmet,
        )
    if not reason:
        raise RunError("An override needs a reason: say why it is safe to go on.")
    if len(reason) > REASON_MAX:
        raise RunError(f"The reason is too long (at most {REASON_MAX} characters).")
    if not reauth_is_fresh(change.request):
        raise NotAllowed("Confirm your password to override the gate.")
    if set(keys) != {condition.key for condition in unmet}:
        raise GateClosed(
            "The conditions changed since they were shown: "
            + hooks.describe(verb, unmet)
            + " Review them and override again.",
            unmet,
        )
    deployment, user = change.deployment, change.actor
    conditions = [{"key": c.key, "kind": c.kind, "label": c.label} for c in unmet]
    override = GateOverride.objects.create(
        deployment=deployment,
        to_status=change.to,
        by=user,
        by_name=display_name(user),
        reason=reason,
        conditions=conditions,
        created_at=change.now,
    )
    record_event(
        action="deployment.override",
        actor=user,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=override,
        target_repr=f"to {S(change.to).label.lower()}: {len(conditions)} condition(s)",
        after={"to": change.to, "reason": reason, "conditions": conditions},
        request=change.request,
    )


def _move(change: hooks.StatusChange, *, reason: str = "") -> Change:
    """Save the new status (checked and allowed by the caller), audit it, tell the
    features, and make every open page resync after commit."""
    deployment, to, now = change.deployment, change.to, change.now or timezone.now()
    deployment.status = to
    fields = ["status"]
    if to == S.IN_PROGRESS or (to in FINISHED and deployment.started_at is None):
        deployment.started_at = now
        fields.append("started_at")
    if to == S.MONITORING:
        deployment.go_live_at = now
        fields.append("go_live_at")
    if to in FINISHED:
        deployment.ended_at = now
        fields.append("ended_at")
    deployment.save(update_fields=fields)
    seq = deployment.next_seq()
    after = {"status": to, "reason": reason.strip()[:REASON_MAX]}
    if change.acknowledgement:
        after["acknowledgement"] = change.acknowledgement
    record_event(
        action="deployment.status",
        actor=change.actor,
        deployment=deployment,
        seq=seq,
        target=deployment,
        before={"status": change.before},
        after=after,
        request=change.request,
    )
    if to == S.MONITORING:
        hooks.went_live.send(change)
    if to in FINISHED:
        hooks.finished.send(change)
    hooks.status_changed.send(change)
    # The features may have taken sequence numbers too: the resync covers them.
    resync_on_commit(deployment.pk, deployment.seq, "status")
    return Change(deployment, changed=True, seq=seq)
