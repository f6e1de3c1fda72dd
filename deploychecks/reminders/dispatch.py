"""dispatch_due_reminders: release due reminders, escalate, deliver every channel once.

One run, started by the single beat entry every REMINDER_DISPATCH_SECONDS (or
by the embedded scheduler inside the web process), does four things, each
claim in its own short transaction with SELECT ... FOR UPDATE SKIP LOCKED so
any number of runs can overlap (two beats, two workers) without sharing work.
Release and escalation go one deployment at a time, its row locked first
(the lock order of docs/decisions.md: deployment row, then the audit chain):

0. Announce: the `dispatching` hook's handlers run first (owners marks items
   overdue and raises their reminders, released by this same run). Each
   handler is isolated: one that raises is logged and the run goes on, so one
   feature's bad data never stops reminders for every deployment.
1. Release: every pending reminder whose due_at has passed is marked sent (or
   late, or missed when a later occurrence of the same rule is also due) and
   gets one ReminderDelivery row per channel, in the same transaction. A
   released reminder is never released again.
2. Escalate: a reminder sent more than REMINDER_ESCALATE_MINUTES (scaled) ago
   and not acknowledged gets escalation deliveries to the next contact, once.
3. Deliver: claim one delivery at a time (status sending, with a lease), send
   it outside any transaction, then record sent, or schedule a retry with
   exponential backoff, or give up after REMINDER_MAX_ATTEMPTS. A
   delivery whose lease ran out (its dispatcher died) is claimed again.

No Celery ETA is used anywhere: retries wait in the database (next_attempt_at)
for a later run. docs/decisions.md states the exact delivery guarantee.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from deploychecks.audit.services import record_event
from deploychecks.core.commit import after_commit
from deploychecks.reminders import delivery as channels
from deploychecks.reminders import events, live
from deploychecks.reminders.models import CONTACT_PREFIX, Reminder, ReminderDelivery
from deploychecks.reminders.schedule import schedule_delta
from deploychecks.runs.models import Deployment, Participant

logger = logging.getLogger("deploychecks.reminders")

RS = Reminder.Status
DS = ReminderDelivery.Status
Channel = ReminderDelivery.Channel
Purpose = ReminderDelivery.Purpose
# Upper bound of deliveries one run sends; the next run continues.
MAX_DELIVERIES_PER_RUN = 500
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# Page first: the toast is the fastest signal and never waits for SMTP or a
# slow webhook of another reminder.
CHANNEL_ORDER = Case(
    When(channel=Channel.PAGE, then=Value(0)),
    When(channel=Channel.EMAIL, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


@dataclass
class DispatchReport:
    released: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # delivery ids
    failed: list[int] = field(default_factory=list)  # delivery ids (retry or give up)


def dispatch_due_reminders(now: datetime | None = None) -> DispatchReport:
    """One run of the steps in the module docstring (announce, release, escalate,
    deliver).

    `now` stands in for the clock, as in gonogo's services, so tests can step
    past a backoff or a lease without sleeping. Left out (always, in production),
    each step reads the clock itself at the moment it acts, as it always has.
    """
    report = DispatchReport()
    _announce(events.Dispatching(now=now))
    release_due_reminders(report, now=now)
    escalate_unacknowledged(report, now=now)
    deliver_pending(report, now=now)
    if report.released or report.escalated or report.sent or report.failed:
        logger.info(
            "reminders: %d released, %d missed, %d escalated, %d deliveries sent, %d failed",
            len(report.released),
            len(report.missed),
            len(report.escalated),
            len(report.sent),
            len(report.failed),
        )
    return report


def _announce(event: events.Dispatching) -> None:
    """Call every `dispatching` handler; one that raises is logged and skipped."""
    for handler in events.dispatching.handlers:
        try:
            handler(event)
        except Exception:
            logger.exception("reminders: dispatching handler %r failed", handler)


# --- 1. Release --------------------------------------------------------------------------


def release_due_reminders(report: DispatchReport, now: datetime | None = None) -> None:
    now = now or timezone.now()
    due = Reminder.objects.filter(
        status=RS.PENDING, due_at__lte=now, deployment__status=Deployment.Status.MONITORING
    )
    for deployment_id in _deployment_ids(due):
        _release_for(deployment_id, now, report)


def _deployment_ids(reminders) -> list[int]:
    return list(
        reminders.order_by("deployment_id").values_list("deployment_id", flat=True).distinct()
    )


def _lock_live_deployment(deployment_id: int) -> Deployment | None:
    """The lock order (docs/decisions.md): a deployment's row before its reminders
    and before the audit chain, so one transaction per deployment."""
    return (
        Deployment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("lead")
        .filter(pk=deployment_id, status=Deployment.Status.MONITORING)
        .first()
    )


@transaction.atomic
def _release_for(deployment_id: int, now, report: DispatchReport) -> None:
    deployment = _lock_live_deployment(deployment_id)
    if deployment is None:
        return
    due = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(deployment=deployment, status=RS.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
    )
    if not due:
        return
    grace = timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS)
    webhook = channels.webhook_target(deployment_id) is not None
    for reminder in due:
        reminder.deployment = deployment
        reminder.late_by = now - reminder.due_at
        if _superseded(reminder, now):
            # Down while several occurrences fell due: only the latest goes out.
            reminder.status = RS.MISSED
            reminder.save(update_fields=["status", "late_by"])
            record_event(
                action="reminder.missed",
                deployment=deployment,
                target=reminder,
                after={"due_at": reminder.due_at, "late_by_seconds": _seconds(reminder.late_by)},
            )
            report.missed.append(reminder.pk)
            continue
        reminder.status = RS.LATE if reminder.late_by > grace else RS.SENT
        reminder.sent_at = now
        reminder.save(update_fields=["status", "sent_at", "late_by"])
        _create_deliveries(
            reminder,
            Purpose.REMINDER,
            _email_recipients(reminder),
            webhook=webhook,
            now=now,
        )
        record_event(
            action="reminder.sent",
            deployment=deployment,
            target=reminder,
            after={
                "status": reminder.status,
                "due_at": reminder.due_at,
                "late_by_seconds": _seconds(reminder.late_by),
            },
        )
        events.reminder_sent.send(
            events.ReminderSent(deployment=deployment, actor=None, reminder=reminder)
        )
        report.released.append(reminder.pk)


def release_now(
    deployment: Deployment,
    *,
    title: str,
    due_at,
    item_ids: list[int],
    emails: list[str],
    now=None,
    kind: str = Reminder.Kind.OVERDUE,
) -> Reminder:
    """Raise and release one reminder that no rule scheduled (an owned item fell
    overdue, a status update is due), to the same channels as a rule's: the page's
    toast and bell, an email to `emails`, the deployment's webhook. The caller
    holds the deployment's row lock and makes it happen once; this run's delivery
    step sends it.

    A mention is personal: its toast and email go to the person mentioned only,
    never to the deployment's webhook (a chat channel) nor to the webhook
    subscriptions (no `reminder_sent`); only that person's bell lists it
    (`Reminder.is_for`)."""
    now = now or timezone.now()
    personal = kind == Reminder.Kind.MENTION
    late_by = max(now - due_at, timedelta(0))
    grace = timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS)
    reminder = Reminder.objects.create(
        deployment=deployment,
        kind=kind,
        title=title[:200],
        offset_minutes=0,
        due_at=due_at,
        status=RS.LATE if late_by > grace else RS.SENT,
        sent_at=now,
        late_by=late_by,
        item_ids=item_ids,
    )
    recipients = []
    for address in emails:
        if (
            address
            and EMAIL_RE.match(address)
            and address.lower() not in map(str.lower, recipients)
        ):
            recipients.append(address)
    _create_deliveries(
        reminder,
        Purpose.REMINDER,
        recipients,
        webhook=not personal and channels.webhook_target(deployment.pk) is not None,
        now=now,
    )
    record_event(
        action="reminder.sent",
        deployment=deployment,
        target=reminder,
        after={"status": reminder.status, "due_at": due_at, "late_by_seconds": _seconds(late_by)},
    )
    if not personal:
        events.reminder_sent.send(
            events.ReminderSent(deployment=deployment, actor=None, reminder=reminder)
        )
    return reminder


def send_page_at_once(reminder: Reminder, now=None) -> None:
    """Send the page toast of a reminder `release_now` just raised as soon as its
    transaction commits, not at the next dispatcher run: for a mention, whose
    person is likely looking at the page. Its page delivery is recorded as sent
    in the same transaction, so no run sends it again; a toast lost on the way
    costs only the toast (the bell is re-read on every notice and reconnect).
    Email and webhook still go out with the next run."""
    now = now or timezone.now()
    ReminderDelivery.objects.filter(
        reminder=reminder, purpose=Purpose.REMINDER, channel=Channel.PAGE, status=DS.PENDING
    ).update(status=DS.SENT, sent_at=now, attempts=1)
    after_commit(lambda: live.send_toast(reminder), "reminder toast")


def _superseded(reminder: Reminder, now) -> bool:
    """Is a later occurrence of the same rule also due? Then this one is obsolete.

    Read without locks: occurrences only ever become due, never undue, so two
    dispatchers agree on the answer for any row they both could see.
    """
    return (
        Reminder.objects.filter(
            deployment_id=reminder.deployment_id,
            rule_id=reminder.rule_id,
            title=reminder.title,
            due_at__gt=reminder.due_at,
            due_at__lte=now,
        )
        .exclude(status=RS.CANCELLED)
        .exists()
    )


def _email_recipients(reminder: Reminder) -> list[str]:
    deployment = reminder.deployment
    roles = set(reminder.notify)
    addresses: list[str] = []
    if "lead" in roles and deployment.lead is not None:
        addresses.append(deployment.lead.email)
    by_role = {
        "engineers": Participant.Role.ENGINEER,
        "approvers": Participant.Role.APPROVER,
        "viewers": Participant.Role.VIEWER,
    }
    wanted = [by_role[r] for r in ("engineers", "approvers", "viewers") if r in roles]
    if wanted:
        addresses.extend(
            Participant.objects.filter(deployment=deployment, role__in=wanted, user__is_active=True)
            .order_by("role", "user__username")
            .values_list("user__email", flat=True)
        )
    named = {
        v[len(CONTACT_PREFIX) :].strip().casefold() for v in roles if v.startswith(CONTACT_PREFIX)
    }
    if "contacts" in roles or named:
        # A row still holding the template's placeholders reaches nobody.
        addresses.extend(
            c.person.strip()
            for c in deployment.contacts.filter(filled_in=True).order_by("position")
            if "contacts" in roles or c.role.strip().casefold() in named
        )
    unique = []
    for address in addresses:
        if address and EMAIL_RE.match(address) and address.lower() not in map(str.lower, unique):
            unique.append(address)
    return unique


def _create_deliveries(reminder, purpose, recipients, *, webhook: bool, now) -> None:
    rows = [
        ReminderDelivery(
            reminder=reminder, purpose=purpose, channel=Channel.PAGE, next_attempt_at=now
        ),
        ReminderDelivery(
            reminder=reminder,
            purpose=purpose,
            channel=Channel.EMAIL,
            recipients=recipients,
            next_attempt_at=now,
            status=DS.PENDING if recipients else DS.SKIPPED,
        ),
    ]
    if webhook:
        rows.append(
            ReminderDelivery(
                reminder=reminder, purpose=purpose, channel=Channel.WEBHOOK, next_attempt_at=now
            )
        )
    ReminderDelivery.objects.bulk_create(rows)


# --- 2. Escalate -------------------------------------------------------------------------


def escalate_unacknowledged(report: DispatchReport, now: datetime | None = None) -> None:
    if settings.REMINDER_ESCALATE_MINUTES <= 0:
        return
    now = now or timezone.now()
    cutoff = now - schedule_delta(settings.REMINDER_ESCALATE_MINUTES)
    # Only the stabilization schedule climbs the contact ladder: an overdue item's
    # reminder goes to its owners alone.
    overdue = Reminder.objects.filter(
        kind=Reminder.Kind.SCHEDULE,
        status__in=[RS.SENT, RS.LATE],
        escalated_at__isnull=True,
        sent_at__lte=cutoff,
        deployment__status=Deployment.Status.MONITORING,
    )
    for deployment_id in _deployment_ids(overdue):
        _escalate_for(deployment_id, cutoff, now, report)


@transaction.atomic
def _escalate_for(deployment_id: int, cutoff, now, report: DispatchReport) -> None:
    deployment = _lock_live_deployment(deployment_id)
    if deployment is None:
        return
    overdue = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(
            deployment=deployment,
            kind=Reminder.Kind.SCHEDULE,
            status__in=[RS.SENT, RS.LATE],
            escalated_at__isnull=True,
            sent_at__lte=cutoff,
        )
        .order_by("due_at", "pk")
    )
    for reminder in overdue:
        reminder.deployment = deployment
        contact = _next_contact(reminder)
        reminder.escalated_at = now
        reminder.escalated_to = _describe_contact(contact) if contact else "nobody (no contacts)"
        reminder.save(update_fields=["escalated_at", "escalated_to"])
        if contact is not None:
            email = contact.person.strip()
            _create_deliveries(
                reminder,
                Purpose.ESCALATION,
                [email] if EMAIL_RE.match(email) else [],
                webhook=channels.webhook_target(deployment_id) is not None,
                now=now,
            )
        record_event(
            action="reminder.escalated",
            deployment=deployment,
            target=reminder,
            after={"to": reminder.escalated_to, "sent_at": reminder.sent_at},
        )
        report.escalated.append(reminder.pk)


def _next_contact(reminder: Reminder):
    """The escalation ladder: the first contact not already told, one step further
    for each other reminder of this deployment that is escalated and still open."""
    told = {
        address.lower()
        for address in ReminderDelivery.objects.filter(
            reminder=reminder, purpose=Purpose.REMINDER, channel=Channel.EMAIL
        )
        .values_list("recipients", flat=True)
        .first()
        or []
    }
    # Placeholder rows ("[Name]", "@name") are not on the ladder: escalating to
    # them would tell nobody while saying someone was told.
    ladder = [
        c
        for c in reminder.deployment.contacts.filter(filled_in=True).order_by("position")
        if c.person.strip().lower() not in told
    ]
    if not ladder:
        return None
    level = (
        Reminder.objects.filter(
            deployment_id=reminder.deployment_id,
            escalated_at__isnull=False,
            status__in=[RS.SENT, RS.LATE],
        )
        .exclude(pk=reminder.pk)
        .count()
    )
    return ladder[min(level, len(ladder) - 1)]


def _describe_contact(contact) -> str:
    reach = ", ".join(v for v in (contact.person, contact.phone, contact.handle) if v)
    return f"{contact.role} ({reach})" if reach else contact.role


# --- 3. Deliver --------------------------------------------------------------------------


def deliver_pending(report: DispatchReport, now: datetime | None = None) -> None:
    for _ in range(MAX_DELIVERIES_PER_RUN):
        delivery = claim_next_delivery(now=now)
        if delivery is None:
            return
        perform(delivery, report, now=now)


@transaction.atomic
def claim_next_delivery(now: datetime | None = None) -> ReminderDelivery | None:
    """Take one delivery that is due, or whose previous claimant's lease ran out."""
    now = now or timezone.now()
    delivery = (
        ReminderDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            Q(status=DS.PENDING, next_attempt_at__lte=now)
            | Q(status=DS.SENDING, lease_until__lt=now)
        )
        .select_related("reminder__deployment")
        .order_by(CHANNEL_ORDER, "reminder__due_at", "pk")
        .first()
    )
    if delivery is None:
        return None
    if delivery.status == DS.SENDING:
        # Its dispatcher stopped between sending and recording (or before
        # sending): send again, under the same idempotency key, and say so.
        delivery.last_error = (
            "an earlier attempt was interrupted before its result was "
            "recorded; sent again with the same idempotency key"
        )
        logger.warning("reminder delivery %s: lease expired, claiming again", delivery.pk)
    delivery.status = DS.SENDING
    delivery.attempts += 1
    delivery.lease_until = now + timedelta(seconds=settings.REMINDER_DELIVERY_LEASE_SECONDS)
    delivery.save(update_fields=["status", "attempts", "lease_until", "last_error"])
    return delivery


def perform(
    delivery: ReminderDelivery, report: DispatchReport, now: datetime | None = None
) -> None:
    try:
        channels.deliver(delivery)
    except Exception as exc:  # any failure of one channel must not stop the others
        logger.warning("reminder delivery %s (%s) failed: %s", delivery.pk, delivery.channel, exc)
        _record_failure(
            delivery,
            f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, channels.DeliveryFailed)
            else str(exc),
            now=now,
        )
        report.failed.append(delivery.pk)
        return
    _record_sent(delivery, now=now)
    report.sent.append(delivery.pk)


def _still_ours(delivery):
    # The row as we claimed it: if our lease ran out and someone else claimed it
    # since, attempts has moved on and we must not overwrite their outcome.
    return ReminderDelivery.objects.filter(
        pk=delivery.pk, status=DS.SENDING, attempts=delivery.attempts
    )


def _record_sent(delivery: ReminderDelivery, now: datetime | None = None) -> None:
    sent_at = now or timezone.now()
    updated = _still_ours(delivery).update(status=DS.SENT, sent_at=sent_at, lease_until=None)
    if not updated:
        logger.warning(
            "reminder delivery %s: sent, but another dispatcher had claimed it "
            "after our lease ran out",
            delivery.pk,
        )


def _record_failure(delivery: ReminderDelivery, error: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if delivery.attempts >= settings.REMINDER_MAX_ATTEMPTS:
        values = {"status": DS.FAILED}
    else:
        backoff = settings.REMINDER_RETRY_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        values = {"status": DS.PENDING, "next_attempt_at": now + timedelta(seconds=backoff)}
    updated = _still_ours(delivery).update(lease_until=None, last_error=error[:2000], **values)
    if updated and delivery.channel != Channel.PAGE:
        # Failures are shown in the notification centre: refresh it.
        try:
            live.send_refresh(delivery.reminder.deployment_id)
        except Exception:  # the page is only a hint; the row says it all
            logger.exception("could not tell pages about a failed delivery")


def _seconds(delta) -> float:
    return round(delta.total_seconds(), 3) if delta is not None else 0.0
