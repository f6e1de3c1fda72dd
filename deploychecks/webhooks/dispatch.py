"""deliver_due_webhooks: send the outbox's deliveries, in order, each once.

The same recipe as the reminders' dispatcher (reminders/dispatch.py, and
"Exactly once per channel" in docs/decisions.md): claim one delivery in a short
transaction with SELECT … FOR UPDATE SKIP LOCKED (status sending, attempts + 1,
a lease), send it outside any transaction, then record the outcome only if the
row is still ours. A failure waits in the row (`next_attempt_at`, exponential
backoff) for a later run; after WEBHOOK_MAX_ATTEMPTS it has failed for good. A
sending row whose lease ran out belonged to a dispatcher that died: it is
claimed again, with the same webhook-id.

In order per deployment: a delivery is claimed only when no earlier delivery
of the same deployment to the same subscription is unfinished (pending or
sending), so event n+1 never reaches a receiver before event n was delivered
or failed for good. Redeliveries asked for on the log page stand outside
that order.

Every try is logged (`Attempt`: status, latency, the start of the answer). A
subscription whose attempts keep failing is disabled and its owner emailed
(health.py).
"""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from deploychecks.core import webhooks
from deploychecks.webhooks import health
from deploychecks.webhooks.formats import body_of
from deploychecks.webhooks.models import Attempt, Delivery

logger = logging.getLogger("deploychecks.webhooks")

DS = Delivery.Status
UNFINISHED = (DS.PENDING, DS.SENDING)
# Upper bound of deliveries one run sends; the next run continues.
MAX_DELIVERIES_PER_RUN = 500
EXCERPT_CHARS = 500
USER_AGENT = "Deploychecks-Webhooks/1"
INTERRUPTED = (
    "interrupted: the dispatcher stopped before it recorded the answer (it may have been "
    "delivered); sent again with the same webhook-id"
)


@dataclass
class DeliveryReport:
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # a retry is due, or gave up


@dataclass
class Outcome:
    ok: bool
    status_code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0


def delivery_id(delivery: Delivery) -> str:
    """The webhook-id: one per event, the same on every attempt and on a redelivery."""
    return f"evt_{delivery.event_id}"


def deliver_due_webhooks(now: datetime | None = None) -> DeliveryReport:
    """Send what is due until nothing is left (or MAX_DELIVERIES_PER_RUN).

    `now` stands in for the clock, as in the reminders' dispatcher, so tests can
    step past a backoff or a lease; production passes nothing.
    """
    report = DeliveryReport()
    for _ in range(MAX_DELIVERIES_PER_RUN):
        delivery = claim_next(now=now)
        if delivery is None:
            break
        perform(delivery, report, now=now)
    if report.delivered or report.failed:
        logger.info("webhooks: %d delivered, %d failed", len(report.delivered), len(report.failed))
    return report


@transaction.atomic
def claim_next(now: datetime | None = None) -> Delivery | None:
    """Take the first due delivery whose earlier ones (same subscription and
    deployment) are all finished, or one whose claimant's lease ran out."""
    now = now or timezone.now()
    earlier_unfinished = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        deployment_id=OuterRef("deployment_id"),
        sequence__lt=OuterRef("sequence"),
        is_redelivery=False,
        status__in=UNFINISHED,
    )
    delivery = (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            Q(status=DS.PENDING, next_attempt_at__lte=now)
            | Q(status=DS.SENDING, lease_until__lt=now),
            subscription__is_active=True,
        )
        .filter(Q(is_redelivery=True) | ~Exists(earlier_unfinished))
        .select_related("subscription", "event")
        .order_by("next_attempt_at", "pk")
        .first()
    )
    if delivery is None:
        return None
    if delivery.status == DS.SENDING:
        # Its dispatcher stopped between sending and recording: log the lost try.
        logger.warning("webhook delivery %s: lease expired, claiming again", delivery.pk)
        Attempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=delivery.lease_until
            - timedelta(seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS),
            ok=False,
            error=INTERRUPTED,
        )
        delivery.last_error = INTERRUPTED
    delivery.status = DS.SENDING
    delivery.attempts += 1
    delivery.lease_until = now + timedelta(seconds=settings.WEBHOOK_DELIVERY_LEASE_SECONDS)
    delivery.save(update_fields=["status", "attempts", "lease_until", "last_error"])
    return delivery


def perform(delivery: Delivery, report: DeliveryReport, now: datetime | None = None) -> None:
    """Send one claimed delivery and record what happened."""
    subscription = delivery.subscription
    started_at = timezone.now()
    started = time.monotonic()
    try:
        body = json.dumps(body_of(delivery.event, subscription.format)).encode()
        answer = webhooks.post(
            subscription.url,
            body,
            secret=subscription.secret,
            delivery_id=delivery_id(delivery),
            user_agent=USER_AGENT,
        )
    except webhooks.WebhookError as exc:
        outcome = Outcome(
            ok=False,
            status_code=getattr(exc, "status", None),
            excerpt=getattr(exc, "excerpt", ""),
            error=exc.message,
        )
    except Exception as exc:  # one broken delivery must not stop the others
        logger.exception("webhook delivery %s could not be sent", delivery.pk)
        outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    else:
        outcome = Outcome(ok=True, status_code=answer.status, excerpt=answer.excerpt)
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    record(delivery, outcome, started_at, now=now)
    (report.delivered if outcome.ok else report.failed).append(delivery.pk)


def _still_ours(delivery: Delivery):
    # The row as we claimed it: if our lease ran out and someone else claimed it
    # since, attempts has moved on and their outcome is not ours to overwrite.
    return Delivery.objects.filter(pk=delivery.pk, status=DS.SENDING, attempts=delivery.attempts)


@transaction.atomic
def record(delivery: Delivery, outcome: Outcome, started_at, now: datetime | None = None) -> None:
    now = now or timezone.now()
    Attempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started_at,
        duration_ms=outcome.duration_ms,
        ok=outcome.ok,
        status_code=outcome.status_code,
        error=outcome.error[:2000],
        response_excerpt=outcome.excerpt[:EXCERPT_CHARS],
    )
    if outcome.ok:
        updated = _still_ours(delivery).update(
            status=DS.DELIVERED, delivered_at=now, lease_until=None, last_error=""
        )
        if updated:
            health.count_success(delivery.subscription_id)
        else:
            logger.warning(
                "webhook delivery %s: delivered, but another dispatcher had claimed it "
                "after our lease ran out",
                delivery.pk,
            )
        return
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        values = {"status": DS.FAILED}
    else:
        backoff = settings.WEBHOOK_RETRY_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
        values = {"status": DS.PENDING, "next_attempt_at": now + timedelta(seconds=backoff)}
    updated = _still_ours(delivery).update(
        lease_until=None, last_error=outcome.error[:2000], **values
    )
    if updated:
        health.count_failure(delivery.subscription_id, now=now)
