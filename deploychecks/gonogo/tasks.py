import json
import logging
import time
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings

logger = logging.getLogger("deploychecks.gonogo")


@shared_task(name="gonogo.judge_open_deployments", ignore_result=True)
def judge_open_deployments() -> int:
    """A sustained-red rule can fire with no new reading: re-judge running deployments."""
    from deploychecks.gonogo.services import judge_open_deployments as judge

    return judge()


@shared_task(name="gonogo.post_verdict_webhook", ignore_result=True)
def post_verdict_webhook(deployment_id: int, text: str) -> None:
    """Post a worsened verdict to the deployment's webhook (the reminders' channel),
    signed the same way as reminders are."""
    from deploychecks.reminders.delivery import sign, webhook_target

    target = webhook_target(deployment_id)
    if target is None:
        return
    url, secret = target
    body = json.dumps({"text": text}).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Deploychecks-GoNoGo/1",
        "X-Deploychecks-Timestamp": timestamp,
    }
    if secret:
        headers["X-Deploychecks-Signature"] = sign(secret, timestamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = getattr(settings, "REMINDER_WEBHOOK_TIMEOUT_SECONDS", 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            answer.read(1024)
    except (urllib.error.URLError, OSError):
        logger.exception("could not post the verdict of deployment %s", deployment_id)
