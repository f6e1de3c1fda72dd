"""Telling people that a deployment's verdict got worse: the lead by email, and
the deployment's webhook (the reminders' channel) from a worker."""

import json
import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from deploychecks.core import webhooks
from deploychecks.gonogo import grading
from deploychecks.reminders.delivery import webhook_target
from deploychecks.runs.models import Deployment

logger = logging.getLogger("deploychecks.gonogo")


def notify_verdict(deployment_id: int, result: grading.Verdict) -> None:
    """Tell the lead that the verdict got worse (after commit; failures are logged).

    By email, and on the deployment's webhook when the reminders app has one
    configured (its delivery channel, sent by a worker: a slow webhook must
    not hold up the reading that changed the verdict).
    """
    deployment = Deployment.objects.select_related("lead").get(pk=deployment_id)
    subject = (
        f"[Deploychecks] {deployment.service} {deployment.version}: "
        f"{result.level.upper()} — {result.headline}"
    )
    url = f"{settings.SITE_URL}{deployment.get_absolute_url()}"
    lead = deployment.lead
    if lead is not None and lead.email:
        try:
            send_mail(subject, f"{result.rule}\n\n{url}\n", None, [lead.email])
        except Exception:  # noqa: BLE001  a mail outage must not break a reading
            logger.exception("could not email the verdict of deployment %s", deployment_id)
    if webhook_target(deployment_id) is not None:
        post_verdict_webhook.delay(deployment_id, f"{subject}: {result.rule} <{url}>")


@shared_task(name="gonogo.post_verdict_webhook", bind=True, ignore_result=True)
def post_verdict_webhook(self, deployment_id: int, text: str) -> None:
    """Post a worsened verdict to the deployment's webhook (the reminders' channel),
    through the same signed sender as reminders. A failure is logged, not retried."""
    target = webhook_target(deployment_id)
    if target is None:
        return
    url, secret = target
    # The task id stays the same when the broker redelivers this task, so the
    # receiver can drop the repeat; called directly (no broker), a fresh id.
    delivery_id = f"verdict-{self.request.id or uuid.uuid4()}"
    try:
        webhooks.send(
            url,
            json.dumps({"text": text}).encode(),
            secret=secret,
            delivery_id=delivery_id,
            user_agent="Deploychecks-GoNoGo/1",
        )
    except webhooks.WebhookError as exc:
        logger.warning(
            "could not post the verdict of deployment %s: %s", deployment_id, exc.message
        )
