"""A subscription's health: its run of failed attempts, and disabling it when the run
lasts too long (called by the dispatcher as it records each attempt).

Disabled after WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row whose
first was at least WEBHOOK_DISABLE_AFTER_HOURS ago (10 and 24 h by default):
both, so that a receiver down for an hour (a deploy, a restart) is not
disabled however many events queued up meanwhile, and one that has failed for
a day is, however quiet. Its owner is emailed; enabling it again (services)
sends what was waiting.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from deploychecks.audit.services import record_event
from deploychecks.webhooks.models import Subscription

logger = logging.getLogger("deploychecks.webhooks")


def count_success(subscription_id: int) -> None:
    """A delivered attempt ends the subscription's run of failures."""
    Subscription.objects.filter(pk=subscription_id, consecutive_failures__gt=0).update(
        consecutive_failures=0, failing_since=None
    )


def count_failure(subscription_id: int, *, now) -> None:
    """One more failed attempt; disable the subscription once its failures have
    lasted long and often enough (WEBHOOK_DISABLE_AFTER_FAILURES attempts in a
    row, the first at least WEBHOOK_DISABLE_AFTER_HOURS ago)."""
    subscription = (
        Subscription.objects.select_for_update().select_related("owner").get(pk=subscription_id)
    )
    subscription.consecutive_failures += 1
    if subscription.failing_since is None:
        subscription.failing_since = now
    subscription.save(update_fields=["consecutive_failures", "failing_since"])
    failing_for = now - subscription.failing_since
    if (
        subscription.is_active
        and subscription.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        and failing_for >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    ):
        _disable_failing(subscription, now=now)


def _disable_failing(subscription: Subscription, *, now) -> None:
    hours = (now - subscription.failing_since).total_seconds() / 3600
    reason = (
        f"Disabled automatically after {subscription.consecutive_failures} failed attempts "
        f"in a row over {hours:.1f} h."
    )
    subscription.is_active = False
    subscription.disabled_at = now
    subscription.disabled_reason = reason
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    record_event(
        action="webhook.disabled",
        target=subscription,
        after={"active": False, "reason": reason},
    )
    logger.warning("webhook subscription %s: %s", subscription.pk, reason)
    owner = subscription.owner
    if owner.email:
        subject = " ".join(f"[Deploychecks] Webhook disabled: {subscription.name}".split())
        body = (
            f"Your webhook subscription “{subscription.name}” ({subscription.url}) kept "
            f"failing, so Deploychecks stopped sending to it.\n\n{reason}\n\n"
            "Fix the receiver, then enable the subscription again; the deliveries that "
            "were waiting are sent then, in order. Its delivery log says what went wrong:\n"
            f"{settings.SITE_URL}{reverse('webhooks:deliveries', args=[subscription.pk])}\n"
        )
        recipient = owner.email
        # robust: a mail server that is down must not undo the disabling.
        transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]), robust=True)
