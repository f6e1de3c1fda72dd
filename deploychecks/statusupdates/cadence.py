"""When the lead owes a status update, and the reminder when it is due.

A deployment's cadence gives minutes while in progress and while monitoring.
The clock starts at the later of the last update and the start of the current
status (started, went live); every `minutes` after that with no update, the
lead is reminded once, through the reminder machinery (`dispatch.release_now`:
the page's toast and bell, an email, the deployment's webhook). Minutes are
schedule minutes, scaled like the reminders' (REMINDER_TIME_SCALE).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.reminders.dispatch import release_now
from deploychecks.reminders.events import Dispatching
from deploychecks.reminders.models import Reminder
from deploychecks.reminders.schedule import schedule_delta
from deploychecks.runs import access
from deploychecks.runs.models import Deployment
from deploychecks.statusupdates.models import Cadence, StatusUpdate

S = Deployment.Status
SHORTEST = 5
LONGEST = 24 * 60


def _status_started(deployment) -> datetime | None:
    if deployment.status == S.IN_PROGRESS:
        return deployment.started_at
    if deployment.status == S.MONITORING:
        return deployment.go_live_at
    return None


def due_at(deployment, cadence: Cadence | None, last_update_at=None) -> datetime | None:
    """When the next update is due now, or None (no cadence for this status)."""
    minutes = cadence.minutes_for(deployment.status) if cadence else None
    started = _status_started(deployment)
    if not minutes or started is None:
        return None
    since = max(started, last_update_at) if last_update_at else started
    return since + schedule_delta(minutes)


def _last_update_at(deployment_id: int):
    return (
        StatusUpdate.objects.filter(deployment_id=deployment_id)
        .values_list("created_at", flat=True)
        .first()
    )


def parse_minutes(value: str, what: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    # isascii/isdecimal: "²".isdigit() is True and int("²") raises.
    if not (value.isascii() and value.isdecimal()) or not SHORTEST <= int(value) <= LONGEST:
        raise RunError(
            f"The {what} cadence is a number of minutes from {SHORTEST} to {LONGEST}, or empty."
        )
    return int(value)


@transaction.atomic
def set_cadence(
    *, deployment_id: int, user, in_progress: str, monitoring: str, request=None
) -> Cadence:
    """The lead sets how often an update is due (empty: no reminder)."""
    deployment, role = access.lock(user, deployment_id)
    if role != "lead":
        raise NotAllowed("Only the lead of this deployment sets the update cadence.")
    minutes = {
        "in_progress_minutes": parse_minutes(in_progress, "in progress"),
        "monitoring_minutes": parse_minutes(monitoring, "monitoring"),
    }
    cadence, _ = Cadence.objects.get_or_create(deployment=deployment)
    if all(getattr(cadence, k) == v for k, v in minutes.items()):
        return cadence
    for field, value in minutes.items():
        setattr(cadence, field, value)
    cadence.save(update_fields=list(minutes))
    record_event(
        action="status_update.cadence_set",
        actor=user,
        deployment=deployment,
        target=cadence,
        target_repr="status update cadence",
        after=minutes,
        request=request,
    )
    return cadence


def _owed_since(deployment, cadence, now) -> datetime | None:
    """The due time of an update not yet reminded of, or None."""
    due = due_at(deployment, cadence, _last_update_at(deployment.pk))
    if due is None or due > now or (cadence.reminded_at and cadence.reminded_at >= due):
        return None
    return due


def remind_due(event: Dispatching) -> list[int]:
    """Registered on reminders.events.dispatching: remind each lead whose update
    is due and who was not reminded since it fell due. Their deployment ids."""
    now = event.now or timezone.now()
    cadences = Cadence.objects.filter(
        deployment__status__in=[S.IN_PROGRESS, S.MONITORING]
    ).select_related("deployment")
    return [
        cadence.deployment_id
        for cadence in cadences
        if _owed_since(cadence.deployment, cadence, now) and _remind(cadence.deployment_id, now)
    ]


@transaction.atomic
def _remind(deployment_id: int, now) -> bool:
    # Judged again under the deployment's row lock: two dispatchers remind once.
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("lead")
        .filter(pk=deployment_id, status__in=[S.IN_PROGRESS, S.MONITORING])
        .first()
    )
    cadence = Cadence.objects.select_for_update().filter(deployment_id=deployment_id).first()
    if deployment is None or cadence is None:
        return False
    due = _owed_since(deployment, cadence, now)
    if due is None:
        return False
    cadence.reminded_at = now
    cadence.save(update_fields=["reminded_at"])
    lead = deployment.lead
    release_now(
        deployment,
        title="Status update due",
        due_at=due,
        item_ids=[],
        emails=[lead.email] if lead is not None and lead.is_active else [],
        now=now,
        kind=Reminder.Kind.UPDATE_DUE,
    )
    return True
