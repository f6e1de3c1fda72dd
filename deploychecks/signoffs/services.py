"""Every change to approvers and sign-offs goes through one function here.

Like runs.services: check permission → lock the deployment row and take the
next sequence number → write → audit (same transaction) → broadcast after
commit. A deployment's own changes reach sign-offs through the handlers in
signoffs.hooks (new deployment, item changed, the completion guard).
"""

import logging
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.accounts.reauth import reauth_is_fresh
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.runs import access
from deploychecks.runs.changes import Change, resync_on_commit
from deploychecks.runs.models import Deployment, DeploymentRole, Participant
from deploychecks.signoffs import events
from deploychecks.signoffs.independence import conflict_for
from deploychecks.signoffs.models import ApproverAssignment, SignOff
from deploychecks.signoffs.snapshot import checklist_state, hash_of, snapshot_of

logger = logging.getLogger(__name__)

COMMENT_MAX = 2000


class ReauthRequired(NotAllowed):
    """The approver has to confirm their password before signing."""


class ChecklistChanged(RunError):
    """The checklist is no longer the one the approver was shown (HTTP 409)."""

    status_code = 409


class ChecklistHashMissing(RunError):
    """A sign-off that does not name the checklist it approves (HTTP 400)."""


HASH_MISSING = (
    "A sign-off must name the checklist it approves (checklist_hash): "
    "reload the page and sign from its form."
)
ONE_ROLE_RULE = "one person holds at most one sign-off role per deployment (separation of duties)"


def checklist_hash(deployment_id: int) -> str:
    """SHA-256 over every item's (id, state, version) and sub-check's (id, done)."""
    return hash_of(checklist_state(deployment_id))


# --- Approvers --------------------------------------------------------------------------


def assign_initial_approvers(
    deployment: Deployment, approvers: Mapping | Iterable, *, lead
) -> None:
    """A new deployment's approvers (signoffs.hooks): {user: role name}, or (user, role
    name) pairs. The first user named for a role is its primary approver, any
    further ones its backups. Unknown role names and the lead are skipped (the lead
    may never approve their own deployment); one person named for two roles is
    refused, and with it the whole new deployment."""
    pairs = approvers.items() if isinstance(approvers, Mapping) else approvers
    roles = {r.name.casefold(): r for r in deployment.signoff_roles.all()}
    participants = {p.user_id: p for p in deployment.participants.all()}
    has_primary, taken, rows = set(), {}, []
    for user, role_name in pairs:
        role = roles.get((role_name or "").strip().casefold())
        if role is None or user.pk not in participants or (lead is not None and user.pk == lead.pk):
            continue
        first = taken.setdefault(user.pk, role)
        if first.pk != role.pk:
            raise RunError(
                f"{display_name(user)} cannot approve both {first.name} and {role.name}: "
                f"{ONE_ROLE_RULE}. Pick someone else for one of them."
            )
        if any(row.user.pk == user.pk for row in rows):
            continue
        rows.append(
            ApproverAssignment(
                deployment=deployment,
                role=role,
                user=user,
                participant=participants[user.pk],
                is_backup=role.pk in has_primary,
            )
        )
        has_primary.add(role.pk)
    ApproverAssignment.objects.bulk_create(rows)


@transaction.atomic
def assign_approver(
    *, deployment_id: int, role_id: int, approver, is_backup: bool, user, request=None
) -> Change:
    """The lead names the primary approver or a backup of one sign-off role.

    A new primary replaces the previous one; sign-offs already given stay as they are.
    The approver becomes a participant of the deployment if they were not one.
    """
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(deployment, user)
    role = _role_of_deployment(deployment, role_id)
    if approver.pk == deployment.lead_id:
        raise RunError("The lead cannot approve their own deployment (separation of duties).")
    if not approver.is_active:
        raise RunError(f"{approver.get_username()} is not an active user.")
    _refuse_second_role(deployment, role, approver)
    existing = ApproverAssignment.objects.filter(role=role, user=approver).first()
    if existing is not None and existing.is_backup == is_backup:
        return Change(existing, changed=False)
    participant, created = Participant.objects.get_or_create(
        deployment=deployment, user=approver, defaults={"role": Participant.Role.APPROVER}
    )
    if not created and participant.role == Participant.Role.VIEWER:
        participant.role = Participant.Role.APPROVER
        participant.save(update_fields=["role"])
    replaced = None
    if not is_backup:
        replaced = (
            ApproverAssignment.objects.filter(role=role, is_backup=False)
            .exclude(user=approver)
            .select_related("user")
            .first()
        )
        if replaced is not None:
            replaced.delete()
    if existing is not None:
        existing.is_backup = is_backup
        existing.save(update_fields=["is_backup"])
        assignment = existing
    else:
        assignment = ApproverAssignment.objects.create(
            deployment=deployment,
            role=role,
            user=approver,
            participant=participant,
            is_backup=is_backup,
        )
    seq = deployment.next_seq()
    record_event(
        action="approver.assigned",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=assignment,
        before={"primary": replaced.user.get_username()} if replaced is not None else None,
        after={"role": role.name, "user": approver.get_username(), "backup": is_backup},
        request=request,
    )
    _broadcast_resync(deployment.pk, seq)
    return Change(assignment, changed=True, seq=seq)


@transaction.atomic
def remove_approver(*, deployment_id: int, assignment_id: int, user, request=None) -> Change:
    """The lead removes an approver or backup from a role (they stay a participant)."""
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    _require_lead(deployment, user)
    assignment = (
        ApproverAssignment.objects.select_related("role", "user")
        .filter(pk=assignment_id, deployment=deployment)
        .first()
    )
    if assignment is None:
        raise RunError("That approver is not assigned (any more).")
    description = str(assignment)
    before = {
        "role": assignment.role.name,
        "user": assignment.user.get_username(),
        "backup": assignment.is_backup,
        "assignment_id": assignment.pk,
    }
    assignment.delete()
    seq = deployment.next_seq()
    record_event(
        action="approver.removed",
        actor=user,
        deployment=deployment,
        seq=seq,
        target_repr=description,
        before=before,
        request=request,
    )
    _broadcast_resync(deployment.pk, seq)
    return Change(assignment, changed=True, seq=seq)


def _refuse_second_role(deployment: Deployment, role: DeploymentRole, approver) -> None:
    """One person, one role: an assignment to another role, or a valid sign-off
    given for one (which still counts after its assignment is gone), refuses."""
    other = (
        ApproverAssignment.objects.filter(deployment=deployment, user=approver)
        .exclude(role=role)
        .select_related("role")
        .first()
    )
    if other is not None:
        kind = "a backup" if other.is_backup else "the approver"
        raise RunError(
            f"{display_name(approver)} is already {kind} for {other.role.name}: "
            f"{ONE_ROLE_RULE}. Remove them from {other.role.name} first, or pick someone else."
        )
    signed = _valid_signoff_for_another_role(deployment, role, approver)
    if signed is not None:
        raise RunError(
            f"{display_name(approver)} has a valid sign-off as {signed.role.name}: "
            f"{ONE_ROLE_RULE}. Pick someone else for {role.name}."
        )


def _valid_signoff_for_another_role(deployment: Deployment, role: DeploymentRole, user):
    return (
        SignOff.objects.filter(deployment=deployment, signer=user, status=SignOff.Status.VALID)
        .exclude(role=role)
        .select_related("role")
        .first()
    )


def _require_lead(deployment: Deployment, user) -> None:
    if deployment.lead_id != user.pk:
        if access.role_of(user, deployment) is None:
            raise NotAllowed("You do not have access to this deployment.")
        raise NotAllowed("Only the deployment lead can assign approvers.")
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its approvers can no longer change."
        )


def _role_of_deployment(deployment: Deployment, role_id: int) -> DeploymentRole:
    role = DeploymentRole.objects.filter(pk=role_id, deployment=deployment).first()
    if role is None:
        raise RunError("This deployment has no such sign-off role.")
    return role


# --- Signing ------------------------------------------------------------------------------


@transaction.atomic
def sign_off(
    *,
    deployment_id: int,
    role_id: int,
    user,
    decision: str,
    comment: str = "",
    request,
    expected_hash: str,
) -> Change:
    """Record `user`'s approval or rejection for one sign-off role.

    The signer is always the signed-in user of `request`, who must be the role's
    assigned approver or one of its backups, must not be the deployment's lead,
    must not hold a valid sign-off for another role, must pass the deployment's
    independence rule (signoffs.independence), and must have confirmed their
    password within REAUTH_WINDOW_SECONDS. A rejection needs a comment.
    `expected_hash` is the checklist the approver was shown: required, and a
    checklist that changed meanwhile is refused. The sign-off keeps a snapshot
    of the checklist it approved.

    Signing the same decision and comment on the same checklist again is a
    no-op; any other new sign-off supersedes the role's previous valid one.
    """
    if not expected_hash:
        raise ChecklistHashMissing(HASH_MISSING)
    if request is None or not request.user.is_authenticated or request.user.pk != user.pk:
        raise NotAllowed("Nobody can sign for someone else: sign in as yourself to sign.")
    if decision not in SignOff.Decision.values:
        raise RunError("Choose approve or reject.")
    comment = (comment or "").strip()
    if decision == SignOff.Decision.REJECT and not comment:
        raise RunError("A rejection needs a reason: say what has to change.")
    if len(comment) > COMMENT_MAX:
        raise RunError(f"The comment is too long (at most {COMMENT_MAX} characters).")

    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    if access.role_of(user, deployment) is None:
        raise NotAllowed("You do not have access to this deployment.")
    role = _role_of_deployment(deployment, role_id)
    if deployment.lead_id == user.pk:
        raise NotAllowed("The deployment lead cannot sign off their own deployment.")
    if not ApproverAssignment.objects.filter(role=role, user=user).exists():
        raise NotAllowed(
            f"Only the assigned approver or a backup for {role.name} can sign for that role."
        )
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; sign-offs are closed."
        )
    # Under the row lock: every tick, note and sign-off of this deployment waits for it.
    refusal = separation_of_duties_refusal(deployment, role, user)
    if refusal:
        raise NotAllowed(refusal)
    if not reauth_is_fresh(request):
        raise ReauthRequired("Confirm your password to sign.")
    state = checklist_state(deployment.pk)
    current_hash = hash_of(state)
    if expected_hash != current_hash:
        raise ChecklistChanged(
            "The checklist changed since this page showed it. Review it and sign again."
        )

    previous = SignOff.objects.filter(
        deployment=deployment, role=role, status=SignOff.Status.VALID
    ).first()
    if (
        previous is not None
        and previous.signer_id == user.pk
        and previous.decision == decision
        and previous.comment == comment
        and previous.checklist_hash == current_hash
    ):
        return Change(previous, changed=False)

    seq = deployment.next_seq()
    if previous is not None:
        previous.status = SignOff.Status.SUPERSEDED
        previous.invalidated_at = timezone.now()
        previous.save(update_fields=["status", "invalidated_at"])
    try:
        with transaction.atomic():
            signoff = SignOff.objects.create(
                deployment=deployment,
                role=role,
                signer=user,
                signer_name=display_name(user),
                deployment_lead_id=deployment.lead_id,
                decision=decision,
                comment=comment,
                checklist_hash=current_hash,
                checklist_seq=seq,
                checklist_snapshot=snapshot_of(state),
            )
    except IntegrityError:
        # Unreachable through this function (the row lock serializes signers and
        # the checks above refuse a second role); the constraints still keep a
        # writer that skipped the lock from adding a second valid sign-off for a
        # role or by a person, and the caller gets a clear refusal.
        raise ChecklistChanged(
            f"Another {role.name} sign-off was just recorded. Reload and check."
        ) from None
    verb = "approved" if decision == SignOff.Decision.APPROVE else "rejected"
    record_event(
        action=f"signoff.{verb}",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=signoff,
        target_repr=f"as {role.name}",
        before=(
            {
                "signoff_id": previous.pk,
                "signer": previous.signer_name,
                "decision": previous.decision,
            }
            if previous is not None
            else None
        ),
        after={
            "role": role.name,
            "decision": decision,
            "comment": comment,
            "checklist_hash": current_hash,
            "checklist_seq": seq,
            "checklist_counts": signoff.checklist_snapshot["counts"],
        },
        request=request,
    )
    events.signoff_changed.send(
        events.SignoffChanged(deployment=deployment, actor=user, request=request, signoff=signoff)
    )
    _broadcast_resync(deployment.pk, seq)
    return Change(signoff, changed=True, seq=seq)


def separation_of_duties_refusal(deployment: Deployment, role: DeploymentRole, user) -> str:
    """Why `user`, an assigned approver of `role`, may not sign it, or "".

    Two rules: one person speaks for one role (a valid sign-off for another
    role refuses), and the deployment's independence rule (signoffs.independence).
    sign_off raises it; the run page's panel shows it instead of the form.
    """
    signed = _valid_signoff_for_another_role(deployment, role, user)
    if signed is not None:
        return f"You already signed as {signed.role.name} on this deployment: {ONE_ROLE_RULE}."
    conflict = conflict_for(deployment, role, user)
    return conflict.message if conflict is not None else ""


def invalidate_signoffs(
    deployment: Deployment, reason: str, seq: int, *, actor=None, request=None
) -> list[SignOff]:
    """Make the deployment's valid sign-offs stale after a checklist change.

    Called (signoffs.hooks) inside the transaction of the change numbered
    `seq`, with the deployment row locked. Each stale sign-off gets its own
    audit event and sequence number; after commit the pages resync (their
    panels say "stale — sign again") and each signer is emailed.
    """
    valid = SignOff.objects.filter(deployment=deployment, status=SignOff.Status.VALID)
    # Most changes find none: a plain query first, the joins only when needed.
    if not valid.select_for_update().values_list("pk", flat=True):
        return []
    stale = list(valid.select_for_update(of=("self",)).select_related("role", "signer"))
    reason = reason[:500]
    now = timezone.now()
    for signoff in stale:
        signoff.status = SignOff.Status.STALE
        signoff.stale_reason = reason
        signoff.invalidated_at = now
        signoff.save(update_fields=["status", "stale_reason", "invalidated_at"])
        event_seq = deployment.next_seq()
        record_event(
            action="signoff.stale",
            actor=actor,
            deployment=deployment,
            seq=event_seq,
            target=signoff,
            target_repr=f"{signoff.signer_name}’s {signoff.role.name} sign-off",
            before={"status": SignOff.Status.VALID},
            after={"status": SignOff.Status.STALE, "reason": reason, "caused_by_seq": seq},
            request=request,
        )
        events.signoff_changed.send(
            events.SignoffChanged(
                deployment=deployment, actor=actor, request=request, signoff=signoff
            )
        )
        _email_stale(deployment, signoff)
    _broadcast_resync(deployment.pk, deployment.seq)
    return stale


def _email_stale(deployment: Deployment, signoff: SignOff) -> None:
    signer = signoff.signer
    if signer is None or not signer.email:
        return
    # One line: a release name is user input and must not break the header.
    subject = " ".join(
        f"Sign again: your {signoff.role.name} sign-off on {deployment} is stale".split()
    )
    body = (
        f"Your {signoff.get_decision_display().lower()} sign-off as {signoff.role.name} on "
        f"{deployment} no longer matches the checklist:\n\n  {signoff.stale_reason}\n\n"
        "Review the checklist and sign again:\n"
        f"{settings.SITE_URL}{deployment.get_absolute_url()}\n"
    )
    recipient = signer.email
    # robust: a mail server that is down must not turn a committed tick into an error.
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]), robust=True)


def _broadcast_resync(deployment_id: int, seq: int) -> None:
    # The panel differs per viewer (forms only for assigned approvers), so a
    # sign-off event asks every page to re-fetch its own checklist fragment.
    resync_on_commit(deployment_id, seq, "signoff")
