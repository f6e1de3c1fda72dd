"""Every change to a subscription goes through one function here.

Check permission (webhooks.access) → check the URL (core.webhooks.check_url,
before any row is locked: it resolves the host) → lock → write → audit, in
one transaction. The secret is never audited. The dispatcher's bookkeeping
(count_success, count_failure) is here too, with the automatic disabling.
"""

import logging

from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core import webhooks
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.webhooks import access, tasks
from deploychecks.webhooks.catalog import EVENT_TYPES
from deploychecks.webhooks.models import Delivery, Subscription

logger = logging.getLogger("deploychecks.webhooks")


def _audited(subscription: Subscription) -> dict:
    return {
        "name": subscription.name,
        "url": subscription.url,
        "format": subscription.format,
        "service": subscription.service or "*",
        "event_types": list(subscription.event_types),
        "active": subscription.is_active,
    }


def _check(user, *, url: str, service: str, event_types: list[str], format: str) -> None:  # noqa: A002
    """Refuse what this user may not subscribe to, or a URL a webhook may not reach."""
    access.require_subscriber(user)
    allowed = access.service_choices(user)
    if allowed is not None and service not in allowed:
        if not service:
            raise NotAllowed("Only admins can subscribe to every service; choose one you lead.")
        raise NotAllowed(f"You can subscribe only to services you lead ({', '.join(allowed)}).")
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown or not event_types:
        raise RunError("Choose at least one event type from the list.")
    if format not in Subscription.Format.values:
        raise RunError("Choose a format from the list.")
    try:
        webhooks.check_url(url)
    except webhooks.WebhookRefused as exc:
        raise RunError(exc.message) from None


@transaction.atomic
def create_subscription(
    *,
    user,
    name: str,
    url: str,
    service: str,
    event_types: list[str],
    format: str = Subscription.Format.STANDARD,  # noqa: A002
    request=None,
) -> Subscription:
    """A new subscription owned by `user`, with a fresh signing secret (shown once)."""
    name, url, service = name.strip(), url.strip(), service.strip()
    _check(user, url=url, service=service, event_types=event_types, format=format)
    subscription = Subscription.objects.create(
        name=name,
        url=url,
        secret=webhooks.new_secret(),
        format=format,
        service=service,
        event_types=[t for t in EVENT_TYPES if t in event_types],
        owner=user,
    )
    record_event(
        action="webhook.subscribed",
        actor=user,
        target=subscription,
        after=_audited(subscription),
        request=request,
    )
    return subscription


@transaction.atomic
def update_subscription(
    *,
    subscription_id: int,
    user,
    name: str,
    url: str,
    service: str,
    event_types: list[str],
    format: str,  # noqa: A002
    new_secret: bool = False,
    request=None,
) -> Subscription:
    """Change a subscription (its owner, or an admin); `new_secret` replaces the secret."""
    name, url, service = name.strip(), url.strip(), service.strip()
    access.subscription_for(user, subscription_id)  # 404 before the URL is resolved
    _check(user, url=url, service=service, event_types=event_types, format=format)
    subscription = access.subscription_for(user, subscription_id, for_update=True)
    before = _audited(subscription)
    subscription.name, subscription.url, subscription.service = name, url, service
    subscription.format = format
    subscription.event_types = [t for t in EVENT_TYPES if t in event_types]
    fields = ["name", "url", "service", "format", "event_types"]
    if new_secret:
        subscription.secret = webhooks.new_secret()
        fields.append("secret")
    subscription.save(update_fields=fields)
    after = _audited(subscription)
    if new_secret:
        after["secret"] = "replaced"  # noqa: S105  a note for the audit log, not a secret
    record_event(
        action="webhook.subscription_changed",
        actor=user,
        target=subscription,
        before=before,
        after=after,
        request=request,
    )
    return subscription


@transaction.atomic
def set_active(*, subscription_id: int, user, active: bool, request=None) -> Subscription:
    """Disable a subscription, or enable it again (its run of failures forgotten).

    Deliveries waiting when it was disabled are sent, in order, once it is enabled.
    """
    subscription = access.subscription_for(user, subscription_id, for_update=True)
    if subscription.is_active == active:
        return subscription
    subscription.is_active = active
    if active:
        subscription.disabled_at, subscription.disabled_reason = None, ""
        subscription.consecutive_failures, subscription.failing_since = 0, None
    else:
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = f"Disabled by {display_name(user)}."
    subscription.save(
        update_fields=[
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
        ]
    )
    record_event(
        action="webhook.enabled" if active else "webhook.disabled",
        actor=user,
        target=subscription,
        after={"active": active},
        request=request,
    )
    return subscription


@transaction.atomic
def redeliver(*, subscription_id: int, delivery_id: int, user, request=None) -> Delivery:
    """Send a delivery's event again (a row of its own, outside the per-deployment
    order; same webhook-id, so a receiver that kept it can drop it)."""
    subscription = access.subscription_for(user, subscription_id, for_update=True)
    original = (
        Delivery.objects.select_related("event")
        .filter(pk=delivery_id, subscription=subscription)
        .first()
    )
    if original is None:
        raise NoAccess("No such delivery.")
    if not subscription.is_active:
        raise RunError("This subscription is disabled: enable it first, then redeliver.")
    waiting = Delivery.objects.filter(
        subscription=subscription,
        event_id=original.event_id,
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
    ).first()
    if waiting is not None:
        return waiting  # already on its way: a double click sends it once
    delivery = Delivery.objects.create(
        subscription=subscription,
        event=original.event,
        deployment_id=original.deployment_id,
        sequence=original.sequence,
        is_redelivery=True,
        next_attempt_at=timezone.now(),
    )
    record_event(
        action="webhook.redelivered",
        actor=user,
        target=subscription,
        after={"event": original.event.type, "sequence": original.sequence},
        request=request,
    )
    transaction.on_commit(tasks.kick, robust=True)
    return delivery
