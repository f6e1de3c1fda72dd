"""Runs the Celery beat schedule in-process (embedded mode only)."""

import logging

from celery import current_app
from django.conf import settings

logger = logging.getLogger("deploychecks.scheduler")


def run_beat_schedule_once() -> list[str]:
    """Run every task of CELERY_BEAT_SCHEDULE once, inline. Returns their names."""
    ran = []
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = current_app.tasks[entry["task"]]
        task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        ran.append(entry["task"])
    return ran
