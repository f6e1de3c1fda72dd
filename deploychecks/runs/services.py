"""Every change to a deployment's checklist goes through one function here.

Each one: check permission → lock the deployment row and take the next sequence
number → compare versions → write → audit (same transaction) → tell the features
(`runs.hooks`, same transaction) → broadcast after commit. Views, consumers,
tests and the API call these and nothing else. The status has its own in
runs.status (change_status, imported here too), the team and contacts in runs.team.
"""

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.checklists.services import revision_with_structure
from deploychecks.core import provenance
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
from deploychecks.runs import access, hooks, idempotency, status
from deploychecks.runs.changes import Change
from deploychecks.runs.fragments import item_fragments, item_message
from deploychecks.runs.models import (
    Deployment,
    ItemNote,
    Participant,
    RunItem,
    RunSubCheck,
    validate_version,
)
from deploychecks.runs.snapshot import copy_revision
from deploychecks.runs.status import change_status

__all__ = [  # the error family is part of what callers of these services catch
    "Change",
    "change_status",
    "GateClosed",
    "IllegalTransition",
    "NoAccess",
    "NotAllowed",
    "RunError",
    "StaleVersion",
]


def _require_edit(role: str, deployment: Deployment, *, user=None, item=None) -> None:
    """Lead and engineers change any item; with `item`, a feature may let someone
    else change that one (its owners: runs.hooks.item_editors)."""
    if not access.can_edit(role) and not (
        item is not None and may_edit_item(deployment, user, item)
    ):
        raise NotAllowed(
            "Only the lead, engineers and this item's owners can change it."
            if item is not None
            else "Only the lead and engineers of this deployment can change items."
        )
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its checklist is closed."
        )


def may_edit_item(deployment: Deployment, user, item) -> bool:
    """May `user`, whose role alone does not let them, change `item` (its owner)?"""
    event = hooks.ItemAccess(deployment=deployment, actor=user, item=item)
    return any(hooks.item_editors.send(event))


# --- Creating --------------------------------------------------------------------


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
    idempotency_key: str = "",
) -> Deployment:
    """Start a deployment from a template revision, copying its whole structure.

    With `idempotency_key` (the creation form's), posting the same form again
    returns the deployment the first post created (runs.idempotency).
    """
    key = idempotency.checked_key(idempotency_key)
    try:
        with transaction.atomic():
            if (pk := idempotency.first_result(user, key, idempotency.Kind.DEPLOYMENT)) is not None:
                return Deployment.objects.get(pk=pk)
            deployment = _create_deployment(
                revision,
                user=user,
                release_name=release_name,
                version=version,
                service=service,
                lead=lead,
                previous_version=previous_version,
                environment=environment,
                planned_start=planned_start,
                engineers=engineers,
                approvers=approvers,
                viewers=viewers,
                request=request,
            )
            idempotency.remember(user, key, idempotency.Kind.DEPLOYMENT, deployment, deployment)
            return deployment
    except IntegrityError:
        # The same form posted twice at the same moment: the twin committed first
        # (the unique key made this one wait for it), and this one rolled back.
        if (pk := idempotency.first_result(user, key, idempotency.Kind.DEPLOYMENT)) is None:
            raise
        return Deployment.objects.get(pk=pk)


def _check_version(label: str, value: str) -> None:
    # The form checks too; this covers the REST API, the CLI and the seed.
    try:
        validate_version(value)
    except ValidationError as error:
        raise RunError(f"{label}: {error.messages[0]}") from None


def _create_deployment(
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
    _check_version("Version", version)
    if previous_version:
        _check_version("Previous version", previous_version)
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
        monitoring_hours=revision.monitoring_hours,
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
    # Who may, then what: an item of another deployment (or none) is a 404 and
    # someone who may not edit a 403, whatever they sent (docs/decisions.md).
    deployment, role = access.lock(user, deployment_id)
    try:
        # The phase comes along for the fragments rendered after commit (not locked).
        item = (
            RunItem.objects.select_for_update(of=("self",))
            .select_related("phase")
            .get(pk=item_id, deployment_id=deployment_id)
        )
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    _require_edit(role, deployment, user=user, item=item)
    if state not in RunItem.State.values:
        raise RunError(f"Unknown state {state!r}.")
    reason = (reason or "").strip()
    if state == RunItem.State.NA and not reason:
        raise RunError("Marking an item N/A needs a reason (spaces alone are not one).")
    if len(reason) > REASON_MAX:
        raise RunError(
            f"This reason is {len(reason):,} characters long; it can be at most {REASON_MAX:,}."
        )
    if item.state == state and (state != RunItem.State.NA or item.na_reason == reason):
        return Change(item, changed=False)
    if item.version != expected_version:
        raise StaleVersion(
            f"“{item.title}” was changed by {item.changed_by_name or 'someone else'} "
            "meanwhile; here is its current state.",
            item,
        )
    if state == RunItem.State.DONE:
        _check_tick(deployment, item, user, request)
    before = {"state": item.state, "na_reason": item.na_reason, "version": item.version}
    item.state = state
    item.na_reason = reason if state == RunItem.State.NA else ""
    item.version += 1
    item.changed_by = user
    item.changed_by_name = display_name(user)
    item.changed_at = timezone.now()
    # Through the API: the token and CI run, which the page shows beside the name.
    item.changed_via = provenance.of_request(request)
    item.save(
        update_fields=[
            "state",
            "na_reason",
            "version",
            "changed_by",
            "changed_by_name",
            "changed_at",
            "changed_via",
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
    # An owner who is no engineer gets the row as the view renders it for them
    # (tick and N/A, no notes), not the editors' fragment.
    _broadcast_item(
        deployment, item.pk, seq, "item", change, item=item, keep_html=access.can_edit(role)
    )
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
    deployment, role = access.lock(user, deployment_id)
    try:
        sub = (
            RunSubCheck.objects.select_for_update()
            .select_related("item")
            .get(pk=subcheck_id, item__deployment_id=deployment_id)
        )
    except RunSubCheck.DoesNotExist:
        raise NoAccess("No such sub-check.") from None
    _require_edit(role, deployment, user=user, item=sub.item)
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
    idempotency_key: str = "",
    reply_to_id: int | None = None,
) -> Change:
    """Add a note (or deviation) to an item, or a reply to one of its notes.

    Each call adds one, unless it carries the `idempotency_key` of an earlier
    one (the same form posted again): that note comes back unchanged
    (runs.idempotency). The `note_saved` hook's handlers may refuse it
    (mentions: an @name who is not on the deployment).
    """
    deployment, role = access.lock(user, deployment_id)
    try:
        item = RunItem.objects.get(pk=item_id, deployment_id=deployment_id)
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    _require_edit(role, deployment)
    body = (body or "").strip()
    if not body:
        raise RunError("A note cannot be empty.")
    if len(body) > NOTE_MAX:
        raise RunError(
            f"This note is {len(body):,} characters long; a note can be at most {NOTE_MAX:,}. "
            "Shorten it and add it again."
        )
    if kind not in ItemNote.Kind.values:
        raise RunError(f"Unknown kind of note {kind!r}.")
    reply_to = _reply_to(item, reply_to_id)
    key = idempotency.checked_key(idempotency_key)
    note_id = idempotency.first_result(user, key, idempotency.Kind.NOTE, deployment.pk)
    if note_id is not None:
        note = ItemNote.objects.get(pk=note_id)
        if note.item_id != item.pk:
            raise RunError("This form was already used for another item: reload the page.")
        return Change(note, changed=False)
    note = ItemNote.objects.create(
        item=item,
        author=user,
        author_name=display_name(user),
        kind=kind,
        body=body,
        reply_to=reply_to,
    )
    idempotency.remember(user, key, idempotency.Kind.NOTE, deployment, note)
    seq = deployment.next_seq()
    after = {"kind": kind, "body": body, "note_id": note.pk}
    if reply_to is not None:
        after["reply_to"] = reply_to.pk
    record_event(
        action=f"{kind}.added",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=item,
        after=after,
        request=request,
    )
    hooks.note_saved.send(
        hooks.NoteSaved(deployment=deployment, actor=user, request=request, item=item, note=note)
    )
    change = Change(note, changed=True, seq=seq)
    _broadcast_item(deployment, item.pk, seq, "note", change)
    return change


def _check_tick(deployment: Deployment, item: RunItem, user, request) -> None:
    """The features' guards of a tick (evidence it needs): refused with every reason."""
    unmet = hooks.item_ticking.unmet(
        hooks.ItemTicking(deployment=deployment, actor=user, request=request, item=item)
    )
    if unmet:
        reasons = " ".join(dict.fromkeys(condition.needs for condition in unmet))
        raise GateClosed(f"“{item.title}” cannot be ticked yet: {reasons}", unmet)


def _reply_to(item: RunItem, reply_to_id) -> ItemNote | None:
    """The note a reply answers: one of the same item's, not deleted."""
    if reply_to_id in (None, ""):
        return None
    try:
        parent = ItemNote.objects.get(pk=int(reply_to_id), item=item)
    except (ItemNote.DoesNotExist, TypeError, ValueError, OverflowError):
        raise RunError("The note you reply to is not on this item.") from None
    if parent.is_deleted:
        raise RunError("The note you reply to was deleted; add a note to the item instead.")
    return parent


def _note_for_change(user, deployment_id: int, note_id: int):
    """The deployment (locked), the note (locked) and the user's role, after the
    checks every edit and deletion make: only the note's author (still a lead or
    engineer) or the deployment's lead, or an admin working on it, may change a note."""
    deployment, role = access.lock(user, deployment_id)
    note = (
        ItemNote.objects.select_for_update(of=("self",))
        .select_related("item")
        .filter(pk=note_id, item__deployment_id=deployment_id)
        .first()
    )
    if note is None:
        raise NoAccess("No such note.")
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its checklist is closed."
        )
    if not access.may_change_note(user, role, note.author_id):
        raise NotAllowed("Only the author of this note and the deployment lead can change it.")
    if note.is_deleted:
        raise RunError("This note was deleted; it cannot be changed.")
    return deployment, note


@transaction.atomic
def edit_item_note(
    *,
    deployment_id: int,
    note_id: int,
    body: str,
    user,
    expected_version: int | None = None,
    request=None,
) -> Change:
    """Change a note's text; the audit log keeps the text before and after.

    With `expected_version`, an edit of a note someone changed meanwhile is
    refused (409) rather than overwriting their change.
    """
    deployment, note = _note_for_change(user, deployment_id, note_id)
    if expected_version is not None and expected_version != note.version:
        raise StaleVersion("Someone changed this note meanwhile: read it again.", note)
    body = (body or "").strip()
    if not body:
        raise RunError("A note cannot be empty: delete it instead.")
    if len(body) > NOTE_MAX:
        raise RunError(
            f"This note is {len(body):,} characters long; a note can be at most {NOTE_MAX:,}."
        )
    if body == note.body:
        return Change(note, changed=False)
    previous = note.body
    note.body = body
    note.version += 1
    note.edited_at = timezone.now()
    note.save(update_fields=["body", "version", "edited_at"])
    seq = deployment.next_seq()
    record_event(
        action=f"{note.kind}.edited",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=note.item,
        before={"body": previous},
        after={"body": body, "note_id": note.pk, "version": note.version},
        request=request,
    )
    hooks.note_saved.send(
        hooks.NoteSaved(
            deployment=deployment,
            actor=user,
            request=request,
            item=note.item,
            note=note,
            created=False,
            previous_body=previous,
        )
    )
    change = Change(note, changed=True, seq=seq)
    _broadcast_item(deployment, note.item_id, seq, "note", change)
    return change


@transaction.atomic
def delete_item_note(*, deployment_id: int, note_id: int, user, request=None) -> Change:
    """Delete a note: its text goes, a tombstone ("Note deleted by X at T") stays
    in the thread, and the audit log keeps the fact."""
    deployment, note = _note_for_change(user, deployment_id, note_id)
    note.body = ""
    note.version += 1
    note.deleted_at = timezone.now()
    note.deleted_by_name = display_name(user)
    note.save(update_fields=["body", "version", "deleted_at", "deleted_by_name"])
    seq = deployment.next_seq()
    record_event(
        action=f"{note.kind}.deleted",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=note.item,
        after={"note_id": note.pk, "author": note.author_name},
        request=request,
    )
    change = Change(note, changed=True, seq=seq)
    _broadcast_item(deployment, note.item_id, seq, "note", change)
    return change


def _item_changed(event: hooks.ItemChanged) -> None:
    """Tell the features; a change that moves the deployment on by itself (the
    last rollback step ticked) is applied here, as one more status change."""
    for answer in hooks.item_changed.send(event):
        if isinstance(answer, hooks.AutoTransition):
            status.move_on(event, answer)


def _broadcast_item(
    deployment: Deployment,
    item_id: int,
    seq: int,
    kind: str,
    change: Change,
    item: RunItem | None = None,
    keep_html: bool = True,
) -> None:
    """After commit: render the item once, keep the editable html for the response
    (with `keep_html`).

    `item` is the row as this transaction saved it (with its phase), if the
    caller has it: nothing else changes it before commit.
    """

    def build():
        # `deployment` is the row this transaction locked and updated.
        fragments = item_fragments(deployment, item_id, item=item)
        if keep_html:
            change.html = fragments["html_edit"]
        return item_message(deployment, item_id, seq, kind, fragments)

    broadcast_on_commit(deployment.pk, build)
