"""Every change to reminders goes through one function here.

A deployment's status reaches reminders through runs.hooks (see reminders.hooks),
inside the status change's transaction: `schedule_for` when a deployment goes
live and `cancel_pending` when it ends.
Delivery is dispatch.py's job; this module only writes rows, audits them and
tells open pages to refresh their notification centre after commit.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core import webhooks
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.reminders import live
from deploychecks.reminders.models import DeploymentWebhook, Reminder, ReminderRule
from deploychecks.reminders.schedule import due_at
from deploychecks.runs import access
from deploychecks.runs.changes import Change, resync_on_commit
from deploychecks.runs.models import Deployment, RunItem

NOTE_MAX = 1000
RS = Reminder.Status


# --- Called when the deployment goes live or ends (reminders.hooks) -------------------
# The views refuse with these before they read a form (permission before input).
LEAD_ONLY_RESCHEDULE = "Only the lead of this deployment can move its go-live time."
LEAD_ONLY_WEBHOOK = "Only the lead of this deployment can change its webhook."


def schedule_for(deployment: Deployment, *, user=None, request=None) -> int:
    """Create the deployment's reminder rows from its revision's rules; return how many.

    Call inside the transaction that set `go_live_at`. Going live twice is
    impossible (monitoring is entered once), and the unique key on
    (deployment, rule, due_at) refuses duplicates regardless.
    """
    rules = list(
        ReminderRule.objects.filter(revision_id=deployment.revision_id).order_by("position")
    )
    matcher = _ItemMatcher(deployment)
    rows = []
    for rule in rules:
        item_ids = matcher.ids_for(rule.items)
        for offset in rule.offsets():
            rows.append(
                Reminder(
                    deployment=deployment,
                    rule=rule,
                    title=rule.title,
                    offset_minutes=offset,
                    due_at=due_at(deployment.go_live_at, offset),
                    item_ids=item_ids,
                    notify=list(rule.notify),
                )
            )
    Reminder.objects.bulk_create(rows)
    if rows:
        record_event(
            action="reminders.scheduled",
            actor=user,
            deployment=deployment,
            target=deployment,
            after={
                "count": len(rows),
                "rules": len(rules),
                "first_due": min(r.due_at for r in rows),
                "last_due": max(r.due_at for r in rows),
            },
            request=request,
        )
        live.refresh_on_commit(deployment.pk)
    return len(rows)


def cancel_pending(deployment: Deployment, *, user=None, request=None) -> int:
    """Cancel the reminders that have not gone out yet (rolled back, aborted, completed).

    Open pages refresh their bell even when nothing was pending: an ended
    deployment's bell counts nothing as awaiting acknowledgement.
    """
    pending = Reminder.objects.filter(deployment=deployment, status=RS.PENDING)
    count = pending.update(status=RS.CANCELLED)
    if count:
        record_event(
            action="reminders.cancelled",
            actor=user,
            deployment=deployment,
            target=deployment,
            after={"count": count, "status": deployment.status},
            request=request,
        )
    if deployment.go_live_at is not None:
        live.refresh_on_commit(deployment.pk)
    return count


class _ItemMatcher:
    """Resolves a rule's item texts to this deployment's item ids, in checklist order."""

    def __init__(self, deployment):
        self.items = list(
            RunItem.objects.filter(deployment=deployment)
            .order_by("phase__position", "position")
            .values_list("pk", "title", "section__title")
        )

    def ids_for(self, texts) -> list[int]:
        ids: list[int] = []
        for text in texts:
            needle = text.strip().casefold()
            if not needle:
                continue
            found = [pk for pk, title, _ in self.items if needle in title.casefold()]
            if not found:
                found = [
                    pk for pk, _, section in self.items if section and needle in section.casefold()
                ]
            ids.extend(pk for pk in found if pk not in ids)
        return ids


# --- People on the deployment ----------------------------------------------------------


@transaction.atomic
def acknowledge(
    *, deployment_id: int, reminder_id: int, user, note: str = "", request=None
) -> Change:
    """Mark a delivered reminder done, with an optional note. Anyone on the deployment may.

    Acknowledging an acknowledged reminder again changes nothing.
    """
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise RunError(f"The note is too long (at most {NOTE_MAX} characters).")
    # The deployment row before the reminder's (the lock order: reschedule and the
    # dispatcher lock the deployment and then its reminders).
    deployment = Deployment.objects.select_for_update(no_key=True).get(pk=deployment_id)
    if access.role_of(user, deployment) is None:
        raise NotAllowed("You do not have access to this deployment.")
    reminder = Reminder.objects.select_for_update().get(pk=reminder_id, deployment_id=deployment_id)
    if not reminder.is_for(user):
        raise NotAllowed("This mention is for the person mentioned; only they mark it done.")
    if reminder.status == RS.ACKNOWLEDGED:
        return Change(reminder, changed=False)
    if reminder.status not in (RS.SENT, RS.LATE):
        raise RunError(
            f"“{reminder.title}” is {reminder.get_status_display().lower()}; "
            "only a reminder that went out can be acknowledged."
        )
    before = {"status": reminder.status}
    reminder.status = RS.ACKNOWLEDGED
    reminder.acknowledged_by = user
    reminder.acknowledged_by_name = display_name(user)
    reminder.acknowledged_at = timezone.now()
    reminder.acknowledged_note = note
    reminder.save(
        update_fields=[
            "status",
            "acknowledged_by",
            "acknowledged_by_name",
            "acknowledged_at",
            "acknowledged_note",
        ]
    )
    record_event(
        action="reminder.acknowledged",
        actor=user,
        deployment=deployment,
        target=reminder,
        before=before,
        after={"status": reminder.status, "note": note, "due_at": reminder.due_at},
        request=request,
    )
    live.refresh_on_commit(deployment.pk)
    return Change(reminder, changed=True)


def close_overdue(deployment, item, *, user, request=None) -> list[int]:
    """An item left OPEN (ticked or N/A): its overdue reminders that went out are
    acknowledged by whoever closed it, so the bell stops counting them. Called
    from the item change, inside its transaction (the deployment's row locked)."""
    closed = []
    reminders = Reminder.objects.select_for_update().filter(
        deployment=deployment, kind=Reminder.Kind.OVERDUE, status__in=[RS.SENT, RS.LATE]
    )
    # The item is looked for in Python: SQLite (make run) has no JSON `contains`,
    # and a deployment has few overdue reminders out at once.
    for reminder in reminders.order_by("pk"):
        if item.pk not in (reminder.item_ids or []):
            continue
        before = {"status": reminder.status}
        reminder.status = RS.ACKNOWLEDGED
        reminder.acknowledged_by = user
        reminder.acknowledged_by_name = display_name(user) if user else ""
        reminder.acknowledged_at = timezone.now()
        reminder.acknowledged_note = f"“{item.title}” is {item.get_state_display().lower()}."
        reminder.save(
            update_fields=[
                "status",
                "acknowledged_by",
                "acknowledged_by_name",
                "acknowledged_at",
                "acknowledged_note",
            ]
        )
        record_event(
            action="reminder.acknowledged",
            actor=user,
            deployment=deployment,
            target=reminder,
            before=before,
            after={"status": reminder.status, "note": reminder.acknowledged_note},
            request=request,
        )
        closed.append(reminder.pk)
    if closed:
        live.refresh_on_commit(deployment.pk)
    return closed


@transaction.atomic
def reschedule(*, deployment_id: int, go_live_at: datetime, user, request=None) -> Change:
    """Correct the go-live time; the pending reminders move with it. Lead only.

    Reminders that already went out keep their times. A pending reminder moved
    onto the time of one of its rule's occurrences that already went out is
    dropped (it would repeat that one).
    """
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    if access.role_of(user, deployment) != "lead":
        raise NotAllowed(LEAD_ONLY_RESCHEDULE)
    if deployment.status != Deployment.Status.MONITORING:
        raise RunError("Only a live deployment (monitoring) has a go-live time to move.")
    if go_live_at > timezone.now():
        raise RunError("The go-live time cannot be in the future.")
    if deployment.started_at and go_live_at < deployment.started_at:
        raise RunError("The go-live time cannot be before the deployment started.")
    before = deployment.go_live_at
    if go_live_at == before:
        return Change(deployment, changed=False)
    pending = list(
        Reminder.objects.select_for_update()
        .filter(deployment=deployment, status=RS.PENDING)
        .order_by("due_at", "pk")
    )
    taken = set(
        Reminder.objects.filter(deployment=deployment)
        .exclude(status=RS.PENDING)
        .values_list("rule_id", "due_at")
    )
    # Pending rows have no deliveries and no acknowledgement yet: replace them
    # rather than update them in place, which could collide with each other on
    # the unique (deployment, rule, due_at) key half-way through.
    Reminder.objects.filter(pk__in=[r.pk for r in pending]).delete()
    moved, cancelled = [], 0
    for reminder in pending:
        reminder.pk = None
        reminder.due_at = due_at(go_live_at, reminder.offset_minutes)
        if (reminder.rule_id, reminder.due_at) in taken:
            cancelled += 1  # it would repeat an occurrence that already went out
            continue
        moved.append(reminder)
    Reminder.objects.bulk_create(moved)
    deployment.go_live_at = go_live_at
    deployment.save(update_fields=["go_live_at"])
    seq = deployment.next_seq()
    record_event(
        action="deployment.go_live_moved",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=deployment,
        before={"go_live_at": before},
        after={
            "go_live_at": go_live_at,
            "reminders_moved": len(moved),
            "reminders_cancelled": cancelled,
        },
        request=request,
    )
    resync_on_commit(deployment.pk, seq, "go_live")
    live.refresh_on_commit(deployment.pk)
    return Change(deployment, changed=True, seq=seq)


@transaction.atomic
def set_webhook(*, deployment_id: int, url: str, secret: str = "", user, request=None) -> Change:
    """Set (or with an empty url, remove) the deployment's own reminder webhook. Lead only.

    A webhook is always signed: an empty secret keeps the current one, and with
    none to keep it is refused. The URL must resolve to public addresses only
    (core.webhooks.check_url), so a lead cannot aim the worker at the internal
    network; that DNS lookup happens before the deployment row is locked.
    """
    url = (url or "").strip()
    secret = (secret or "").strip()
    if access.role_of(user, Deployment.objects.get(pk=deployment_id)) != "lead":
        raise NotAllowed(LEAD_ONLY_WEBHOOK)
    if url:
        if secret and (problem := webhooks.secret_problem(secret)):
            raise RunError(problem)
        try:
            webhooks.check_url(url)
        except webhooks.WebhookRefused as exc:
            raise RunError(exc.message) from None
    deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
    current = DeploymentWebhook.objects.filter(deployment=deployment).first()
    before = {"url": current.url, "signed": bool(current.secret)} if current else None
    if current is None and not url:
        return Change(deployment, changed=False)
    if url and not secret:
        if current is None or not current.secret:
            raise RunError(
                "A webhook needs a signing secret: whsec_ followed by base64 of 24 to 64 "
                "random bytes. Give the receiver the same secret; it verifies each "
                "request's webhook-signature header with it."
            )
        secret = current.secret
    if url:
        hook, _ = DeploymentWebhook.objects.update_or_create(
            deployment=deployment, defaults={"url": url, "secret": secret}
        )
        after = {"url": hook.url, "signed": bool(hook.secret)}
    else:
        current.delete()
        after = None
    # The secret itself never goes into the audit log.
    record_event(
        action="reminders.webhook_changed",
        actor=user,
        deployment=deployment,
        target=deployment,
        before=before,
        after=after,
        request=request,
    )
    return Change(deployment, changed=True)


# --- Template schedules (admins) -------------------------------------------------------


@transaction.atomic
def replace_rules(revision, rules: list[ReminderRule], *, user, request=None) -> list:
    """Replace a revision's reminder schedule with `rules` (validated, in order).

    Deployments already live keep the reminders they were given; the new
    schedule applies to deployments going live from now on.
    """
    for rule in rules:
        rule.full_clean(exclude=["revision", "position"])
    old = list(ReminderRule.objects.filter(revision=revision).order_by("position"))
    before = [_rule_summary(r) for r in old]
    ReminderRule.objects.filter(revision=revision).delete()
    for position, rule in enumerate(rules, start=1):
        rule.pk = None
        rule.revision = revision
        rule.position = position
    saved = ReminderRule.objects.bulk_create(rules)
    record_event(
        action="reminder_rules.changed",
        actor=user,
        target=revision,
        before={"rules": before},
        after={"rules": [_rule_summary(r) for r in saved]},
        request=request,
    )
    return saved


def _rule_summary(rule: ReminderRule) -> dict:
    return {
        "title": rule.title,
        "when": rule.describe(),
        "items": rule.items,
        "notify": rule.notify,
    }
