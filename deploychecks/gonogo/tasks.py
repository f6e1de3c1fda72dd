import json
import logging
import uuid

from celery import shared_task

from deploychecks.core import webhooks

logger = logging.getLogger("deploychecks.gonogo")


@shared_task(name="gonogo.judge_open_deployments", ignore_result=True)
def judge_open_deployments() -> int:
    """A sustained-red rule can fire with no new reading: re-judge running deployments."""
    from deploychecks.gonogo.services import judge_open_deployments as judge

    return judge()


@shared_task(name="gonogo.post_verdict_webhook", bind=True, ignore_result=True)
def post_verdict_webhook(self, deployment_id: int, text: str) -> None:
    """Post a worsened verdict to the deployment's webhook (the reminders' channel),
    through the same signed sender as reminders. A failure is logged, not retried."""
    from deploychecks.reminders.delivery import webhook_target

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
