"""Every change to owners and due times, and the overdue sweep.

Like runs.services: check permission → lock the deployment row and take the
next sequence number → write → audit (same transaction) → broadcast the item's
row after commit. An owner change bumps `RunItem.assign_version` (the row's
cache key), never `version`: who owns an item is not part of what approvers
signed, so it leaves sign-offs valid.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from deploychecks.audit.services import record_event
from deploychecks.checklists.parser.model import ChecklistParseError
from deploychecks.checklists.parser.owners import parse_due
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.owners.directory import Directory, OwnerError, check_token, parse_owner_text
from deploychecks.owners.due import due_at, due_text
from deploychecks.realtime.broadcast import broadcast_on_commit
from deploychecks.reminders.dispatch import release_now
from deploychecks.runs import access
from deploychecks.runs.changes import Change
from deploychecks.runs.fragments import item_message
from deploychecks.runs.models import Deployment, RunItem, RunPhase

logger = logging.getLogger("deploychecks.owners")

RUNNING = (Deployment.Status.IN_PROGRESS, Deployment.Status.MONITORING)
UNCHANGED = object()


class FieldError(RunError):
    """A refused owners/due input; `field` ("owners", "due") is the form field it is about."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def parse_due_text(text: str) -> tuple[int | None, str]:
    """'2h after go-live' (or '(due 2h after go-live)') → (120, 'go_live'); '' → (None, '')."""
    text = (text or "").strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if text.lower().startswith("due "):
        text = text[4:]
    if not text:
        return None, ""
    try:
        return parse_due(" " + text)
    except ChecklistParseError as exc:
        raise OwnerError(exc.message[0].upper() + exc.message[1:] + ".") from None


def _owners(value) -> list[str]:
    if isinstance(value, str):
        return parse_owner_text(value)
    tokens = []
    for value_token in value:
        text = str(value_token).strip().lstrip("@").strip('"')
        tokens.append(check_token(slugify(text) if " " in text else text))
    return parse_owner_text(" ".join(tokens))


def _require_lead(role: str | None, deployment: Deployment) -> None:
    if role != "lead":
        raise NotAllowed("Only the lead of this deployment can change owners and due times.")
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its checklist is closed."
        )


@transaction.atomic
def set_assignment(
    *, deployment_id: int, item_id: int, owners=UNCHANGED, due=UNCHANGED, user, request=None
) -> Change:
    """Set an item's owners (tokens, or text like "@alice @devops-lead") and/or its
    due time (text like "2h after go-live", "" for none). The lead only."""
    # The order of docs/decisions.md: the deployment (404), the permission (403),
    # then the input; the item comes in the form, so it is input (404 if not here).
    deployment, role = access.lock(user, deployment_id)
    _require_lead(role, deployment)
    try:
        item = RunItem.objects.select_for_update(of=("self",)).get(
            pk=item_id, deployment_id=deployment_id
        )
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    changed = _apply(
        deployment, item, owners=owners, due=due, user=user, request=request, check_people=True
    )
    return Change(item, changed=changed is not None, seq=changed)


def _check_people(deployment: Deployment, owners: list[str]) -> None:
    """The lead's form names people who exist and can see the deployment: a typo
    ("@nosuchuser") would otherwise give the item to nobody, silently."""
    directory = Directory.of(deployment)
    names = [directory.key(t)[5:] for t in owners if directory.key(t).startswith("user:")]
    if not names:
        return
    users = {
        u.name: u
        for u in get_user_model()
        .objects.annotate(name=Lower("username"))
        .filter(name__in=names, is_active=True)
    }
    allowed = access.allowed_user_ids(deployment.pk)
    for token in owners:
        key = directory.key(token)
        if not key.startswith("user:"):
            continue
        user = users.get(key[5:])
        if user is None:
            raise FieldError(
                f"“@{token[:40]}” is nobody here: no user has that name and no sign-off "
                "role of this deployment has that slug. Use a username, a sign-off role "
                '(@devops-lead or @"DevOps Lead") or @lead.',
                "owners",
            )
        if user.pk not in allowed:
            raise FieldError(
                f"“@{token[:40]}” cannot see this deployment: add them to its team "
                "first, or name someone who can.",
                "owners",
            )


def assign_by_key(deployment: Deployment, assignments: Mapping, *, user, request=None) -> list:
    """{item key: {"owners": […], "due": "2h after go-live"}} for a deployment the
    caller holds locked (the API, at creation). Refused whole on an unknown key."""
    items = {
        i.key: i
        for i in RunItem.objects.select_for_update(of=("self",)).filter(
            deployment=deployment, key__in=list(assignments)
        )
    }
    unknown = sorted(set(assignments) - set(items))
    if unknown:
        raise RunError(f"No item with the key {', '.join(unknown[:5])} in this deployment.")
    changed = []
    for key, wanted in assignments.items():
        seq = _apply(
            deployment,
            items[key],
            owners=wanted.get("owners", UNCHANGED),
            due=wanted.get("due", UNCHANGED),
            user=user,
            request=request,
        )
        if seq is not None:
            changed.append(items[key])
    return changed


def _apply(
    deployment, item: RunItem, *, owners, due, user, request, check_people=False
) -> int | None:
    """Write the new owners/due time of a locked item; its seq, or None if unchanged."""
    try:
        new_owners = item.owners if owners is UNCHANGED else _owners(owners or [])
    except OwnerError as exc:
        raise FieldError(str(exc), "owners") from None
    try:
        minutes, anchor = (
            (item.due_minutes, item.due_anchor) if due is UNCHANGED else parse_due_text(due)
        )
    except OwnerError as exc:
        raise FieldError(str(exc), "due") from None
    if check_people and owners is not UNCHANGED:
        _check_people(deployment, new_owners)
    before = {"owners": item.owners, "due": due_text(item)}
    if new_owners == item.owners and (minutes, anchor) == (item.due_minutes, item.due_anchor):
        return None
    fields = ["owners", "due_minutes", "due_anchor", "assign_version"]
    if (minutes, anchor) != (item.due_minutes, item.due_anchor):
        # A new due time is judged afresh (and reminded of afresh) by the sweep.
        item.overdue_since = None
        fields.append("overdue_since")
    item.owners, item.due_minutes, item.due_anchor = new_owners, minutes, anchor
    item.assign_version += 1
    item.save(update_fields=fields)
    seq = deployment.next_seq()
    record_event(
        action="item.owners_changed",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=item,
        before=before,
        after={"owners": item.owners, "due": due_text(item)},
        request=request,
    )
    _broadcast_row(deployment.pk, item.pk, seq)
    return seq


def _broadcast_row(deployment_id: int, item_id: int, seq: int) -> None:
    broadcast_on_commit(deployment_id, lambda: item_message(deployment_id, item_id, seq, "item"))


# --- Phase start ---------------------------------------------------------------------


def start_phase(item: RunItem, now: datetime | None = None) -> None:
    """The first change to one of a phase's items starts it (once)."""
    RunPhase.objects.filter(pk=item.phase_id, started_at__isnull=True).update(
        started_at=now or timezone.now()
    )


# --- Overdue --------------------------------------------------------------------------


def remind_overdue(now: datetime | None = None) -> list[int]:
    """Mark every open item whose due time has passed overdue, once, and remind its
    owners through the reminder channels. Called at the start of every reminder
    dispatch run; its ids."""
    now = now or timezone.now()
    candidates = (
        RunItem.objects.filter(
            deployment__status__in=RUNNING, state=RunItem.State.OPEN, overdue_since__isnull=True
        )
        .exclude(due_anchor="")
        .select_related("deployment", "phase")
        .order_by("deployment_id", "pk")
    )
    due: dict[int, list[int]] = {}
    for item in candidates:
        at = due_at(item, item.deployment, item.phase)
        if at is not None and at <= now:
            due.setdefault(item.deployment_id, []).append(item.pk)
    marked = []
    for deployment_id, ids in due.items():
        marked += _mark_overdue(deployment_id, ids, now)
    if marked:
        logger.info("owners: %d items overdue", len(marked))
    return marked


@transaction.atomic
def _mark_overdue(deployment_id: int, ids: list[int], now: datetime) -> list[int]:
    # The lock order of docs/decisions.md: the deployment's row, then its items,
    # then the audit chain. Two sweeps at once: the second finds the rows marked.
    deployment = (
        Deployment.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=deployment_id, status__in=RUNNING)
        .first()
    )
    if deployment is None:
        return []
    items = list(
        RunItem.objects.select_for_update(of=("self",))
        .select_related("phase")
        .filter(pk__in=ids, state=RunItem.State.OPEN, overdue_since__isnull=True)
        .order_by("pk")
    )
    directory = Directory.of(deployment) if items else None
    marked = []
    for item in items:
        at = due_at(item, deployment, item.phase)
        if at is None or at > now:
            continue
        item.overdue_since = now
        item.assign_version += 1
        item.save(update_fields=["overdue_since", "assign_version"])
        seq = deployment.next_seq()
        people = directory.people(item.owners)
        record_event(
            action="item.overdue",
            deployment=deployment,
            seq=seq,
            target=item,
            after={"due_at": at, "due": due_text(item), "owners": item.owners},
        )
        release_now(
            deployment,
            title=f"Overdue: {item.title}",
            due_at=at,
            item_ids=[item.pk],
            emails=[p.email for p in people],
            now=now,
        )
        _broadcast_row(deployment.pk, item.pk, seq)
        marked.append(item.pk)
    return marked
