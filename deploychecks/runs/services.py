"""Every change to a deployment's checklist and status goes through one function here.

Each one: check permission → lock the deployment row and take the next sequence
number → compare versions → write → audit (same transaction) → tell the features
(`runs.hooks`, same transaction) → broadcast after commit. Views, consumers,
tests and the API call these and nothing else. The team and contacts have theirs
in runs.team.
"""

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name, is_admin
from deploychecks.audit.services import record_event
from deploychecks.checklists.services import revision_with_structure
from deploychecks.core.errors import (
    GateClosed,
    IllegalTransition,
    NoAccess,
    NotAllowed,
    RunError,
    StaleVersion,
)
from deploychecks.core.text import NOTE_MAX, REASON_MAX
from deploychecks.realtime.broadcast import broadcast_on_commit
from deploychecks.runs import access, hooks
from deploychecks.runs.changes import Change, resync_on_commit
from deploychecks.runs.fragments import item_fragments, item_message
from deploychecks.runs.models import Deployment, ItemNote, Participant, RunItem, RunSubCheck
from deploychecks.runs.snapshot import copy_revision

__all__ = [  # the error family is part of what callers of these services catch
    "Change",
    "GateClosed",
    "IllegalTransition",
    "NoAccess",
    "NotAllowed",
    "RunError",
    "StaleVersion",
]

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
# What a refusal says the deployment cannot be ("cannot be completed yet").
VERBS = {
    S.IN_PROGRESS: "started",
    S.MONITORING: "taken live",
    S.COMPLETED: "completed",
    S.ROLLED_BACK: "marked rolled back",
    S.ABORTED: "aborted",
}


def _lock(deployment_id: int, user) -> tuple[Deployment, str]:
    """Lock the deployment row and return it with the user's role; NoAccess if none."""
    deployment, role = access.lock_with_role(user, deployment_id)
    if role is None:
        raise NoAccess("You do not have access to this deployment.")
    return deployment, role


def _require_edit(role: str, deployment: Deployment) -> None:
    if not access.can_edit(role):
        raise NotAllowed("Only the lead and engineers of this deployment can change items.")
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its checklist is closed."
        )


# --- Creating --------------------------------------------------------------------


@transaction.atomic
def create_deployment(
    revision,
    *,
    user,
    release_name: str,
    version: str,
    service: str,
    lead,
    previous_version: str = "",
    environment: str = "production",
    planned_start=None,
    engineers=(),
    approvers: Mapping | Iterable = (),
    viewers=(),
    request=None,
) -> Deployment:
    """Start a deployment from a template revision, copying its whole structure.

    `approvers` are {user: sign-off role name} or (user, role name) pairs; the
    sign-offs feature assigns them (and refuses one person named for two roles).
    """
    approvers = list(approvers.items() if isinstance(approvers, Mapping) else approvers)
    revision = revision_with_structure().get(pk=revision.pk)
    deployment = Deployment.objects.create(
        revision=revision,
        template_name=revision.template.name,
        release_name=release_name,
        version=version,
        previous_version=previous_version,
        service=service,
        environment=environment,
        planned_start=planned_start,
        lead=lead,
        created_by=user,
        seq=1,
        require_independent_approvers=revision.require_independent_approvers,
    )
    members = {}
    for member in engineers:
        members[member.pk] = Participant(deployment=deployment, user=member, role="engineer")
    for member, _ in approvers:
        members.setdefault(
            member.pk, Participant(deployment=deployment, user=member, role="approver")
        )
    for member in viewers:
        members.setdefault(
            member.pk, Participant(deployment=deployment, user=member, role="viewer")
        )
    members.pop(lead.pk, None)
    Participant.objects.bulk_create(members.values())
    copy_revision(deployment, revision)
    hooks.deployment_created.send(
        hooks.Created(
            deployment=deployment,
            actor=user,
            request=request,
            revision=revision,
            approvers=approvers,
        )
    )
    record_event(
        action="deployment.created",
        actor=user,
        deployment=deployment,
        seq=1,
        target=deployment,
        after={
            "release": release_name,
            "version": version,
            "previous_version": previous_version,
            "revision": f"{revision.template.name} r{revision.number}",
        },
        request=request,
    )
    return deployment


# --- Items -------------------------------------------------------------------------


@transaction.atomic
def set_item_state(
    *,
    deployment_id: int,
    item_id: int,
    state: str,
    expected_version: int,
    user,
    reason: str = "",
    request=None,
) -> Change:
    """Set an item to done, open or N/A (never a blind flip).

    Setting the state it already has is a no-op, so a double click or a retried
    request cannot undo a tick. Any other change based on an old version is
    refused with StaleVersion.
    """
    if state not in RunItem.State.values:
        raise RunError(f"Unknown state {state!r}.")
    reason = (reason or "").strip()
    if state == RunItem.State.NA and not reason:
        raise RunError("Marking an item N/A needs a reason.")
    if len(reason) > REASON_MAX:
        raise RunError(f"The reason is too long (at most {REASON_MAX} characters).")
    deployment, role = _lock(deployment_id, user)
    _require_edit(role, deployment)
    try:
        # The phase comes along for the fragments rendered after commit (not locked).
        item = (
            RunItem.objects.select_for_update(of=("self",))
            .select_related("phase")
            .get(pk=item_id, deployment_id=deployment_id)
        )
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    if item.state == state and (state != RunItem.State.NA or item.na_reason == reason):
        return Change(item, changed=False)
    if item.version != expected_version:
        raise StaleVersion(
            f"“{item.title}” was changed by {item.changed_by_name or 'someone else'} "
            "meanwhile; here is its current state.",
            item,
        )
    before = {"state": item.state, "na_reason": item.na_reason, "version": item.version}
    item.state = state
    item.na_reason = reason if state == RunItem.State.NA else ""
    item.version += 1
    item.changed_by = user
    item.changed_by_name = display_name(user)
    item.changed_at = timezone.now()
    item.save(
        update_fields=[
            "state",
            "na_reason",
            "version",
            "changed_by",
            "changed_by_name",
            "changed_at",
        ]
    )
    seq = deployment.next_seq()
    action = {"done": "item.ticked", "open": "item.reopened", "na": "item.marked_na"}[state]
    record_event(
        action=action,
        actor=user,
        deployment=deployment,
        seq=seq,
        target=item,
        before=before,
        after={"state": item.state, "na_reason": item.na_reason, "version": item.version},
        request=request,
    )
    change = Change(item, changed=True, seq=seq)
    _broadcast_item(deployment, item.pk, seq, "item", change, item=item)
    verb = {"done": "was ticked", "open": "was reopened", "na": "was marked N/A"}[state]
    _item_changed(
        hooks.ItemChanged(
            deployment=deployment,
            actor=user,
            request=request,
            item=item,
            seq=seq,
            description=f"“{item.title}” {verb} by {item.changed_by_name}",
        )
    )
    return change


@transaction.atomic
def set_subcheck_state(
    *, deployment_id: int, subcheck_id: int, done: bool, expected_version: int, user, request=None
) -> Change:
    deployment, role = _lock(deployment_id, user)
    _require_edit(role, deployment)
    try:
        sub = (
            RunSubCheck.objects.select_for_update()
            .select_related("item")
            .get(pk=subcheck_id, item__deployment_id=deployment_id)
        )
    except RunSubCheck.DoesNotExist:
        raise NoAccess("No such sub-check.") from None
    if sub.done == done:
        return Change(sub, changed=False)
    if sub.version != expected_version:
        raise StaleVersion(
            f"“{sub.title}” was changed by {sub.changed_by_name or 'someone else'} meanwhile.", sub
        )
    before = {"done": sub.done, "version": sub.version}
    sub.done = done
    sub.version += 1
    sub.changed_by = user
    sub.changed_by_name = display_name(user)
    sub.changed_at = timezone.now()
    sub.save(update_fields=["done", "version", "changed_by", "changed_by_name", "changed_at"])
    seq = deployment.next_seq()
    record_event(
        action="subcheck.ticked" if done else "subcheck.reopened",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=sub,
        before=before,
        after={"done": sub.done, "version": sub.version},
        request=request,
    )
    change = Change(sub, changed=True, seq=seq)
    _broadcast_item(deployment, sub.item_id, seq, "subcheck", change)
    _item_changed(
        hooks.ItemChanged(
            deployment=deployment,
            actor=user,
            request=request,
            item=sub.item,
            subcheck=sub,
            seq=seq,
            description=f"“{sub.title}” (under “{sub.item.title}”) was "
            f"{'ticked' if done else 'reopened'} by {sub.changed_by_name}",
        )
    )
    return change


@transaction.atomic
def add_item_note(
    *,
    deployment_id: int,
    item_id: int,
    body: str,
    user,
    kind: str = ItemNote.Kind.NOTE,
    request=None,
) -> Change:
    body = (body or "").strip()
    if not body:
        raise RunError("A note cannot be empty.")
    if len(body) > NOTE_MAX:
        raise RunError(f"A note can be at most {NOTE_MAX} characters.")
    if kind not in ItemNote.Kind.values:
        raise RunError(f"Unknown kind of note {kind!r}.")
    deployment, role = _lock(deployment_id, user)
    _require_edit(role, deployment)
    try:
        item = RunItem.objects.get(pk=item_id, deployment_id=deployment_id)
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    note = ItemNote.objects.create(
        item=item, author=user, author_name=display_name(user), kind=kind, body=body
    )
    seq = deployment.next_seq()
    record_event(
        action=f"{kind}.added",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=item,
        after={"kind": kind, "body": body, "note_id": note.pk},
        request=request,
    )
    change = Change(note, changed=True, seq=seq)
    _broadcast_item(deployment, item.pk, seq, "note", change)
    return change


# --- Status ------------------------------------------------------------------------


@transaction.atomic
def change_status(
    *, deployment_id: int, to: str, user, request=None, reason: str = "", override_reason: str = ""
) -> Change:
    """Move along planned → in_progress → monitoring → completed (or rolled_back/aborted).

    The registered guards (`hooks.status_changing`) may refuse; the refusal
    names every unmet condition. An admin may override them with an
    `override_reason` when completing: stored on the deployment, audited.
    """
    deployment, role = _lock(deployment_id, user)
    override_reason = (override_reason or "").strip()
    # An admin's override may come from someone who cannot otherwise edit.
    if not access.can_edit(role) and not override_reason:
        raise NotAllowed("Only the lead and engineers can change the deployment's status.")
    if to not in S.values:
        raise IllegalTransition(f"Unknown status {to!r}.")
    if override_reason and to != S.COMPLETED:
        raise IllegalTransition("An override only applies to completing a deployment.")
    if override_reason and not is_admin(user):
        raise NotAllowed("Only an admin can complete a deployment without every approval.")
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
        deployment=deployment, actor=user, request=request, before=current, to=to
    )
    unmet = hooks.status_changing.unmet(change)
    if unmet and not override_reason:
        raise GateClosed(hooks.describe(VERBS[to], unmet), unmet)
    if unmet:
        _record_override(deployment, user, override_reason, unmet, request)
    return _move(change, reason=reason)


def _record_override(deployment: Deployment, user, reason: str, unmet, request) -> None:
    if len(reason) > REASON_MAX:
        raise RunError(f"The reason is too long (at most {REASON_MAX} characters).")
    deployment.completion_override_by = user
    deployment.completion_override_name = display_name(user)
    deployment.completion_override_reason = reason
    deployment.completion_override_at = timezone.now()
    deployment.save(
        update_fields=[
            "completion_override_by",
            "completion_override_name",
            "completion_override_reason",
            "completion_override_at",
        ]
    )
    record_event(
        action="deployment.completion_override",
        actor=user,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=deployment,
        after={"reason": reason, "missing": [condition.label for condition in unmet]},
        request=request,
    )


def _move(change: hooks.StatusChange, *, reason: str = "") -> Change:
    """Save the new status (checked and allowed by the caller), audit it, tell the
    features, and make every open page resync after commit."""
    deployment, to, now = change.deployment, change.to, timezone.now()
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
    record_event(
        action="deployment.status",
        actor=change.actor,
        deployment=deployment,
        seq=seq,
        target=deployment,
        before={"status": change.before},
        after={"status": to, "reason": reason.strip()[:REASON_MAX]},
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


def _item_changed(event: hooks.ItemChanged) -> None:
    """Tell the features; a change that moves the deployment on by itself (the
    last rollback step ticked) is applied here, as one more status change."""
    for answer in hooks.item_changed.send(event):
        deployment = event.deployment
        if isinstance(answer, hooks.AutoTransition) and answer.to in TRANSITIONS[deployment.status]:
            _move(
                hooks.StatusChange(
                    deployment=deployment,
                    actor=event.actor,
                    request=event.request,
                    before=deployment.status,
                    to=answer.to,
                ),
                reason=answer.reason,
            )


def _broadcast_item(
    deployment: Deployment,
    item_id: int,
    seq: int,
    kind: str,
    change: Change,
    item: RunItem | None = None,
) -> None:
    """After commit: render the item once, keep the editable html for the response.

    `item` is the row as this transaction saved it (with its phase), if the
    caller has it: nothing else changes it before commit.
    """

    def build():
        # `deployment` is the row this transaction locked and updated.
        fragments = item_fragments(deployment, item_id, item=item)
        change.html = fragments["html_edit"]
        return item_message(deployment, item_id, seq, kind, fragments)

    broadcast_on_commit(deployment.pk, build)
