"""Runs the Celery beat schedule in-process (embedded mode only)."""

import logging
from collections.abc import Collection

from celery import current_app
from django.conf import settings

logger = logging.getLogger("deploychecks.scheduler")


def own_periods() -> dict[str, float]:
    """The entries of EMBEDDED_SCHEDULER_OWN_PERIOD due more often than the scheduler's
    tick, with their periods; every other entry runs once a tick."""
    return {
        name: float(entry["schedule"])
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if name in settings.EMBEDDED_SCHEDULER_OWN_PERIOD
        and float(entry["schedule"]) < settings.SCHEDULER_INTERVAL_SECONDS
    }


def run_beat_schedule_once(names: Collection[str] | None = None) -> list[str]:
    """Run every task of CELERY_BEAT_SCHEDULE (or of the entries named) once, inline.

    Returns the task names that ran.
    """
    # A worker imports every app's tasks module when it starts; this process
    # only does when asked (Celery's autodiscovery is lazy).
    current_app.loader.import_default_modules()
    ran = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        if names is not None and name not in names:
            continue
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
