"""The deployment's team and contacts (its settings page): every change is one
function here, as in runs.services (lead only, locked, audited, resynced)."""

from django.db import transaction

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.runs import access
from deploychecks.runs.changes import Change, resync_on_commit
from deploychecks.runs.models import Deployment, DeploymentContact, Participant

CONTACT_FIELDS = ("role", "person", "phone", "handle")


def _require_lead(user, deployment: Deployment) -> None:
    if access.role_of(user, deployment) != "lead":
        raise NotAllowed(
            "Only the lead of this deployment can change its participants and contacts."
        )


def _member_repr(member) -> str:
    return f"{display_name(member)} ({member.get_username()})"


def _settings_changed(deployment: Deployment, kind: str) -> int:
    """Take the next sequence number and make open pages resync after commit.

    A resync (not a fragment) because the change alters what each viewer may
    do; the broadcast's allowed list, computed after commit, also closes the
    sockets of people who were removed.
    """
    seq = deployment.next_seq()
    resync_on_commit(deployment.pk, seq, kind)
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
        raise NoAccess("That person is not a participant of this deployment.")
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
