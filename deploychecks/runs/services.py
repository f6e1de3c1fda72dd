"""Every change to a deployment goes through one function here.

Each one: check permission → lock the deployment row and take the next sequence
number → compare versions → write → audit (same transaction) → broadcast after
commit. Views, consumers, tests and any future API call these and nothing else.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deploychecks.audit.services import record_event
from deploychecks.checklists.services import revision_with_structure
from deploychecks.realtime.broadcast import broadcast_on_commit, run_event
from deploychecks.runs import access
from deploychecks.runs.models import (
    Deployment,
    DeploymentContact,
    DeploymentRole,
    ItemNote,
    Participant,
    RunItem,
    RunPhase,
    RunSection,
    RunStep,
    RunSubCheck,
)

S = Deployment.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PLANNED: {S.IN_PROGRESS, S.ABORTED},
    S.IN_PROGRESS: {S.MONITORING, S.ROLLED_BACK, S.ABORTED},
    S.MONITORING: {S.COMPLETED, S.ROLLED_BACK, S.ABORTED},
    S.COMPLETED: set(),
    S.ROLLED_BACK: set(),
    S.ABORTED: set(),
}
NOTE_MAX = 2000
REASON_MAX = 1000


class RunError(Exception):
    """A refused change; `message` is shown to the user as is."""

    status_code = 400

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotAllowed(RunError):
    status_code = 403


class NoAccess(NotAllowed):
    """No such deployment or item, as far as this user may know (HTTP 404, as the views)."""

    status_code = 404


class StaleVersion(RunError):
    """The client changed something based on an old version (HTTP 409)."""

    status_code = 409

    def __init__(self, message: str, current):
        super().__init__(message)
        self.current = current


class IllegalTransition(RunError):
    status_code = 409


@dataclass
class Change:
    obj: object
    changed: bool
    seq: int | None = None
    # The editable item fragments as broadcast after commit (None until then,
    # e.g. inside an outer transaction); the view sends them back as its response.
    html: str | None = None


def _actor_name(user) -> str:
    return (user.get_full_name() or user.get_username())[:150]


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
    approvers: dict | None = None,
    viewers=(),
    request=None,
) -> Deployment:
    """Start a deployment from a template revision, copying its whole structure."""
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
    )
    members = {}
    for member in engineers:
        members[member.pk] = Participant(deployment=deployment, user=member, role="engineer")
    for member in approvers or {}:
        members.setdefault(
            member.pk, Participant(deployment=deployment, user=member, role="approver")
        )
    for member in viewers:
        members.setdefault(
            member.pk, Participant(deployment=deployment, user=member, role="viewer")
        )
    members.pop(lead.pk, None)
    Participant.objects.bulk_create(members.values())
    _snapshot(deployment, revision)
    _gonogo().deployment_created(deployment, revision)
    if approvers:
        _signoffs().assign_initial_approvers(deployment, approvers, lead=lead)
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


def _snapshot(deployment: Deployment, revision) -> None:
    items, subchecks = [], []
    for phase in revision.phases.all():
        run_phase = RunPhase.objects.create(
            deployment=deployment,
            position=phase.position,
            title=phase.title,
            timing_label=phase.timing_label,
            notes=phase.notes,
            is_rollback="rollback" in phase.title.lower(),
        )
        sections = {
            s.pk: RunSection.objects.create(
                phase=run_phase,
                position=s.position,
                title=s.title,
                timing_label=s.timing_label,
                notes=s.notes,
            )
            for s in phase.sections.all()
        }
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
            )
            items.append(run_item)
            subchecks.extend((run_item, sub) for sub in item.subchecks.all())
    RunItem.objects.bulk_create(items)
    RunSubCheck.objects.bulk_create(
        RunSubCheck(item=run_item, position=sub.position, title=sub.title)
        for run_item, sub in subchecks
    )
    DeploymentRole.objects.bulk_create(
        DeploymentRole(deployment=deployment, position=r.position, name=r.name)
        for r in revision.signoff_roles.all()
    )
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
    item.changed_by_name = _actor_name(user)
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
    seq = _bump(deployment)
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
    _signoffs().invalidate_signoffs(
        deployment,
        f"“{item.title}” {verb} by {item.changed_by_name}",
        seq,
        actor=user,
        request=request,
    )
    # Last: ticking the last rollback step moves the deployment to rolled_back.
    _gonogo().item_changed(deployment, item, user=user, request=request)
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
    sub.changed_by_name = _actor_name(user)
    sub.changed_at = timezone.now()
    sub.save(update_fields=["done", "version", "changed_by", "changed_by_name", "changed_at"])
    seq = _bump(deployment)
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
    _signoffs().invalidate_signoffs(
        deployment,
        f"“{sub.title}” (under “{sub.item.title}”) was "
        f"{'ticked' if done else 'reopened'} by {sub.changed_by_name}",
        seq,
        actor=user,
        request=request,
    )
    return Change(sub, changed=True, seq=seq)


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
        item=item, author=user, author_name=_actor_name(user), kind=kind, body=body
    )
    seq = _bump(deployment)
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

    Completing needs every sign-off role's valid approval, unless an admin
    gives an `override_reason` (signoffs.services.check_completion).
    """
    deployment, role = _lock(deployment_id, user)
    override_reason = (override_reason or "").strip()
    # An admin's override may come from someone who cannot otherwise edit;
    # check_completion refuses it from anyone but an admin.
    if not access.can_edit(role) and not override_reason:
        raise NotAllowed("Only the lead and engineers can change the deployment's status.")
    if to not in S.values:
        raise IllegalTransition(f"Unknown status {to!r}.")
    if override_reason and to != S.COMPLETED:
        raise IllegalTransition("An override only applies to completing a deployment.")
    current = deployment.status
    if to == current:
        return Change(deployment, changed=False)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(S(s).label for s in sorted(TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            f"A deployment that is {S(current).label.lower()} cannot become "
            f"{S(to).label.lower()}. Allowed next: {allowed}."
        )
    if to == S.COMPLETED:
        _signoffs().check_completion(
            deployment, user=user, override_reason=override_reason, request=request
        )
    now = timezone.now()
    deployment.status = to
    fields = ["status", "seq"]
    if to == S.IN_PROGRESS:
        deployment.started_at = now
        fields.append("started_at")
    if to in (S.ROLLED_BACK, S.ABORTED) and deployment.started_at is None:
        deployment.started_at = now
        fields.append("started_at")
    if to == S.MONITORING:
        deployment.go_live_at = now
        fields.append("go_live_at")
    if to in (S.COMPLETED, S.ROLLED_BACK, S.ABORTED):
        deployment.ended_at = now
        fields.append("ended_at")
    deployment.seq += 1
    deployment.save(update_fields=fields)
    record_event(
        action="deployment.status",
        actor=user,
        deployment=deployment,
        seq=deployment.seq,
        target=deployment,
        before={"status": current},
        after={"status": to, "reason": reason.strip()[:REASON_MAX]},
        request=request,
    )
    seq = deployment.seq
    # Reminders follow the status: created on go-live, the rest cancelled at the end.
    from deploychecks.reminders import services as reminders  # it builds on this module

    if to == S.MONITORING:
        reminders.schedule_for(deployment, user=user, request=request)
    elif to in (S.COMPLETED, S.ROLLED_BACK, S.ABORTED):
        reminders.cancel_pending(deployment, user=user, request=request)
    _gonogo().status_changed(deployment, current, to, user=user, request=request)
    broadcast_on_commit(deployment.pk, lambda: _resync_message(deployment.pk, seq, "status"))
    return Change(deployment, changed=True, seq=seq)


# --- Participants and contacts (the deployment's settings page) ------------------------

CONTACT_FIELDS = ("role", "person", "phone", "handle")


def _require_lead(user, deployment: Deployment) -> None:
    if access.role_of(user, deployment) != "lead":
        raise NotAllowed(
            "Only the lead of this deployment can change its participants and contacts."
        )


def _member_repr(member) -> str:
    return f"{_actor_name(member)} ({member.get_username()})"


def _settings_changed(deployment: Deployment, kind: str) -> int:
    """Take the next sequence number and make open pages resync after commit.

    A resync (not a fragment) because the change alters what each viewer may
    do; the broadcast's allowed list, computed after commit, also closes the
    sockets of people who were removed.
    """
    seq = _bump(deployment)
    broadcast_on_commit(deployment.pk, lambda: _resync_message(deployment.pk, seq, kind))
    return seq


@transaction.atomic
def set_participant(*, deployment_id: int, member, role: str, user, request=None) -> Change:
    """Add `member` to the deployment as engineer, approver or viewer, or change their role.

    Only the lead may; setting the role someone already has changes nothing.
    """
    if role not in Participant.Role.values:
        raise RunError(f"Unknown role {role!r}.")
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(user, deployment)
    if member.pk == deployment.lead_id:
        raise RunError("The lead already takes part in the deployment as its lead.")
    if not member.is_active:
        raise RunError(f"{_member_repr(member)} is not an active user.")
    participant = (
        Participant.objects.select_for_update().filter(deployment=deployment, user=member).first()
    )
    if participant is not None and participant.role == role:
        return Change(participant, changed=False)
    before = {"role": participant.role} if participant is not None else None
    if participant is None:
        participant = Participant.objects.create(deployment=deployment, user=member, role=role)
        action = "participant.added"
    else:
        participant.role = role
        participant.save(update_fields=["role"])
        action = "participant.changed"
    seq = _settings_changed(deployment, "participants")
    record_event(
        action=action,
        actor=user,
        deployment=deployment,
        seq=seq,
        target=participant,
        target_repr=_member_repr(member),
        before=before,
        after={"user": member.get_username(), "role": role},
        request=request,
    )
    return Change(participant, changed=True, seq=seq)


@transaction.atomic
def remove_participant(*, deployment_id: int, member_id: int, user, request=None) -> Change:
    """Take someone off the deployment; they lose access at once, live sockets included."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(user, deployment)
    participant = (
        Participant.objects.select_for_update()
        .select_related("user")
        .filter(deployment=deployment, user_id=member_id)
        .first()
    )
    if participant is None:
        raise RunError("That person is not a participant of this deployment.")
    member, role = participant.user, participant.role
    participant.delete()
    seq = _settings_changed(deployment, "participants")
    # The row is gone: describe it by name (audit rows outlive what they describe).
    record_event(
        action="participant.removed",
        actor=user,
        deployment=deployment,
        seq=seq,
        target_repr=_member_repr(member),
        before={"user": member.get_username(), "role": role},
        request=request,
    )
    return Change(participant, changed=True, seq=seq)


@transaction.atomic
def save_contacts(*, deployment_id: int, rows, user, request=None) -> Change:
    """Replace the contacts and escalation table with `rows`, in order.

    Each row is a mapping with role, person, phone and handle; the role is
    required. Saving the table it already has changes nothing.
    """
    limits = {f: DeploymentContact._meta.get_field(f).max_length for f in CONTACT_FIELDS}
    cleaned = []
    for number, row in enumerate(rows, start=1):
        values = {f: str(row.get(f) or "").strip() for f in CONTACT_FIELDS}
        if not values["role"]:
            raise RunError(f"Contact {number} needs a role.")
        for field, limit in limits.items():
            if len(values[field]) > limit:
                raise RunError(
                    f"Contact {number}: the {field} is too long (at most {limit} characters)."
                )
        cleaned.append(values)
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(user, deployment)
    current = [
        dict(zip(CONTACT_FIELDS, values, strict=True))
        for values in deployment.contacts.order_by("position").values_list(*CONTACT_FIELDS)
    ]
    if current == cleaned:
        return Change(deployment, changed=False)
    deployment.contacts.all().delete()
    DeploymentContact.objects.bulk_create(
        DeploymentContact(deployment=deployment, position=position, **values)
        for position, values in enumerate(cleaned, start=1)
    )
    seq = _settings_changed(deployment, "contacts")
    record_event(
        action="contacts.changed",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=deployment,
        before={"contacts": current},
        after={"contacts": cleaned},
        request=request,
    )
    return Change(deployment, changed=True, seq=seq)


# --- Broadcast helpers ----------------------------------------------------------------


def _bump(deployment: Deployment) -> int:
    """Take the next sequence number; the row is already locked by the caller."""
    deployment.seq += 1
    deployment.save(update_fields=["seq"])
    return deployment.seq


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
    from deploychecks.runs.fragments import item_fragments, item_message

    def build():
        # `deployment` is the row this transaction locked and updated.
        fragments = item_fragments(deployment, item_id, item=item)
        change.html = fragments["html_edit"]
        return item_message(deployment, item_id, seq, kind, fragments)

    broadcast_on_commit(deployment.pk, build)


def _gonogo():
    # Imported late: go/no-go and rollback build on this module.
    from deploychecks.gonogo import hooks

    return hooks


def _signoffs():
    # Imported late: signoffs.services builds on this module.
    from deploychecks.signoffs import services

    return services


def _resync_message(deployment_id: int, seq: int, kind: str) -> dict:
    return run_event(
        seq=seq, kind=kind, resync=True, allowed=access.allowed_user_ids(deployment_id)
    )
