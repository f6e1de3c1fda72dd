"""Runs the Celery beat schedule in-process (embedded mode only)."""

import logging

from celery import current_app
from django.conf import settings

logger = logging.getLogger("deploychecks.scheduler")


def run_beat_schedule_once() -> list[str]:
    """Run every task of CELERY_BEAT_SCHEDULE once, inline. Returns the names that ran."""
    # A worker imports every app's tasks module when it starts; this process
    # only does when asked (Celery's autodiscovery is lazy).
    current_app.loader.import_default_modules()
    ran = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        # One broken entry must not stop the others; apply() keeps a task's own
        # exception in its result rather than raising it, so log that too.
        try:
            task = current_app.tasks[entry["task"]]
            result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        except Exception:
            logger.exception("embedded scheduler: %s could not run", name)
            continue
        if result.failed():
            logger.error("embedded scheduler: %s failed\n%s", name, result.traceback)
            continue
        ran.append(entry["task"])
    return ran
