"""Celery tasks of go/no-go: the beat entry that re-judges running deployments.

The verdict webhook's task lives with the rest of the notification (notify.py),
the ingest's panel refresh with the ingest (ingest.py); they are imported here
so that a worker, which imports every app's tasks module, knows them.
"""

from celery import shared_task

from deploychecks.gonogo.ingest import refresh_signals_panel
from deploychecks.gonogo.notify import post_verdict_webhook
from deploychecks.gonogo.services import judge_open_deployments as _judge

__all__ = ["judge_open_deployments", "post_verdict_webhook", "refresh_signals_panel"]


@shared_task(name="gonogo.judge_open_deployments", ignore_result=True)
def judge_open_deployments() -> int:
    """A sustained-red rule can fire with no new reading: re-judge running deployments."""
    return _judge()
