"""Celery tasks of the webhooks app: deliver what the outbox holds.

Run by a beat entry every WEBHOOK_DISPATCH_SECONDS (retries, and anything a
lost kick missed), and kicked after each commit that wrote deliveries, so a
receiver usually hears of a change within a second. At most one kicked run is
queued at a time: the kick sets a key, the run deletes it before its first
claim, so a delivery committed before a kick that found the key set is still
seen by the queued run.
"""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from deploychecks.webhooks import dispatch

KICK_KEY = "webhooks:delivery-queued"
# A queued run that never started (its worker died, the broker lost it) stops
# suppressing kicks after this; beat covers the gap.
KICK_TTL_SECONDS = 60


@shared_task(name="webhooks.deliver_webhooks", ignore_result=True)
def deliver_webhooks() -> dict:
    """Send every delivery that is due, in order per subscription and deployment."""
    cache.delete(KICK_KEY)
    report = dispatch.deliver_due_webhooks()
    return {"delivered": len(report.delivered), "failed": len(report.failed)}


def kick() -> None:
    """After a commit that wrote deliveries: have a worker send them now."""
    if settings.WEBHOOK_DELIVER_ON_COMMIT and cache.add(KICK_KEY, 1, KICK_TTL_SECONDS):
        deliver_webhooks.delay()
