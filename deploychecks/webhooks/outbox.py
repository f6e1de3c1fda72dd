"""Writing events into the outbox, inside the transaction of the change.

`record` is called by the handlers in webhooks.hooks while the deployment row
is locked (every service that announces an event holds it), so numbering a
deployment's events with max + 1 cannot race; the unique constraint is the
backstop. Nothing is written when no subscription wants the event, so a
deployment nobody listens to pays one query per event.
"""

from collections.abc import Callable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from deploychecks.runs.models import Deployment
from deploychecks.webhooks import access, payloads, tasks
from deploychecks.webhooks.models import Delivery, Event, Subscription


def subscribers(deployment: Deployment, event_type: str) -> list[Subscription]:
    """The active subscriptions that want `event_type` of this deployment now."""
    candidates = Subscription.objects.filter(
        is_active=True, service__in=["", deployment.service]
    ).select_related("owner")
    # The event types are filtered here, not in SQL: SQLite (embedded mode) has
    # no JSON containment lookup.
    return [
        subscription
        for subscription in candidates
        if subscription.wants(event_type) and access.may_receive(subscription, deployment)
    ]


def record(
    deployment: Deployment,
    event_type: str,
    build: Callable[[], dict],
    *,
    subscriptions: list[Subscription] | None = None,
) -> Event | None:
    """Write the event and one delivery per subscription that wants it.

    `build` makes the event's own data (payloads.py); it is called only when
    someone listens. The stored data also carries the deployment as it is now
    and the event's per-deployment `sequence`.
    """
    if subscriptions is None:
        subscriptions = subscribers(deployment, event_type)
    if not subscriptions:
        return None
    last = Event.objects.filter(deployment=deployment).aggregate(last=Max("sequence"))["last"]
    sequence = (last or 0) + 1
    now = timezone.now()
    data = {
        "sequence": sequence,
        "deployment": payloads.deployment_data(deployment),
        **build(),
    }
    event = Event.objects.create(
        deployment=deployment, sequence=sequence, type=event_type, payload=data, created_at=now
    )
    Delivery.objects.bulk_create(
        Delivery(
            subscription=subscription,
            event=event,
            deployment=deployment,
            sequence=sequence,
            next_attempt_at=now,
        )
        for subscription in subscriptions
    )
    # robust: a broker that is down must not turn a committed change into an
    # error; beat delivers the rows anyway.
    transaction.on_commit(tasks.kick, robust=True)
    return event
