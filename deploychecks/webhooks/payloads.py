"""What each event tells a receiver: its `data`, with one readable line (`summary`).

Built inside the transaction of the change, from the objects the hook hands
over, and stored whole in the Event row: a delivery sent an hour later says
what was true when it happened. Every value is plain JSON (times as ISO 8601).
Payloads name people by their display name, never by email address.
"""

from datetime import datetime

from django.conf import settings

from deploychecks.accounts.people import display_name
from deploychecks.gonogo import events as gonogo
from deploychecks.gonogo.models import RollbackEpisode
from deploychecks.gonogo.rollback import duration_text
from deploychecks.reminders import events as reminders
from deploychecks.runs import hooks
from deploychecks.runs.models import Deployment
from deploychecks.signoffs import events as signoffs
from deploychecks.statusupdates import events as statusupdates

S = Deployment.Status
# The gate names of the API (GET …/gate?for=go-live|complete).
GATE_NAMES = {S.MONITORING: "go-live", S.COMPLETED: "complete"}
GATE_WORDS = {S.MONITORING: "it can go live now", S.COMPLETED: "it can be completed now"}


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def person(user) -> str | None:
    return display_name(user) if user is not None and user.is_authenticated else None


def deployment_data(deployment: Deployment) -> dict:
    lead = deployment.lead
    return {
        "id": deployment.pk,
        "release": deployment.release_name,
        "service": deployment.service,
        "environment": deployment.environment,
        "version": deployment.version,
        "previous_version": deployment.previous_version,
        "status": deployment.status,
        "lead": display_name(lead) if lead is not None else None,
        "url": settings.SITE_URL + deployment.get_absolute_url(),
    }


def _status_label(value: str) -> str:
    return S(value).label if value in S.values else value


def created(event: hooks.Created) -> dict:
    revision = event.revision
    template = f"{revision.template.name} r{revision.number}" if revision is not None else None
    by = person(event.actor)
    return {
        "template": template,
        "summary": f"Deployment created by {by or 'the system'} from {template}",
    }


def status_changed(change: hooks.StatusChange) -> dict:
    by = person(change.actor)
    summary = f"Status: {_status_label(change.before)} → {_status_label(change.to)}"
    return {
        "from": change.before,
        "to": change.to,
        "summary": summary + (f" (by {by})" if by else ""),
    }


def item_changed(event: hooks.ItemChanged) -> dict:
    item, sub = event.item, event.subcheck
    return {
        "item": {
            "id": item.pk,
            "title": item.title,
            "phase": item.phase.title,
            "state": item.state,
            "na_reason": item.na_reason,
            "version": item.version,
            "changed_by": item.changed_by_name or None,
            "changed_at": iso(item.changed_at),
        },
        "subcheck": (
            {
                "id": sub.pk,
                "title": sub.title,
                "done": sub.done,
                "version": sub.version,
                "changed_by": sub.changed_by_name or None,
            }
            if sub is not None
            else None
        ),
        "summary": event.description,
    }


def signoff_changed(event: signoffs.SignoffChanged) -> dict:
    signoff = event.signoff
    role = signoff.role.name
    if signoff.status == "stale":
        summary = f"{signoff.signer_name}’s {role} sign-off is stale: {signoff.stale_reason}"
    else:
        verb = "approved" if signoff.decision == "approve" else "rejected"
        summary = f"{role} {verb} by {signoff.signer_name}"
        if signoff.comment:
            summary += f": {signoff.comment}"
    return {
        "signoff": {
            "id": signoff.pk,
            "role": role,
            "signer": signoff.signer_name,
            "decision": signoff.decision,
            "status": signoff.status,
            "comment": signoff.comment,
            "checklist_hash": signoff.checklist_hash,
            "stale_reason": signoff.stale_reason,
        },
        "summary": summary,
    }


def verdict_changed(event: gonogo.VerdictChanged) -> dict:
    return {
        "from": event.before,
        "to": event.level,
        "headline": event.headline,
        "rule": event.rule,
        "summary": f"Verdict {event.before.upper()} → {event.level.upper()}: {event.rule}",
    }


def rollback_started(event: hooks.Event) -> dict:
    episode = RollbackEpisode.objects.get(deployment=event.deployment)
    return {
        "reason": episode.reason,
        "budget_minutes": episode.budget_minutes,
        "time_to_decide_seconds": episode.decide_seconds,
        "started_at": iso(episode.started_at),
        "summary": (
            f"Rollback started by {episode.started_by_name} "
            f"(budget {episode.budget_minutes} min): {episode.reason}"
        ),
    }


def rollback_step_done(event: gonogo.RollbackStepDone) -> dict:
    over = " (over budget)" if event.overrun else ""
    return {
        "step": {"number": event.number, "title": event.title},
        "seconds": event.seconds,
        "budget_minutes": event.budget_minutes,
        "overrun": event.overrun,
        "summary": (
            f"Rollback step {event.number}. {event.title} done in "
            f"{duration_text(event.seconds)} of {event.budget_minutes} min{over}"
        ),
    }


def rollback_finished(event: gonogo.RollbackFinished) -> dict:
    return {
        "total_seconds": event.total_seconds,
        "budget_minutes": event.budget_minutes,
        "time_to_decide_seconds": event.decide_seconds,
        "steps": event.steps,
        "summary": (
            f"Rollback finished in {duration_text(event.total_seconds)} "
            f"of {event.budget_minutes} min"
        ),
    }


def reminder_sent(event: reminders.ReminderSent) -> dict:
    reminder = event.reminder
    late = reminder.late_by.total_seconds() if reminder.late_by else 0.0
    late_text = f", {int(late // 60)} min late" if reminder.status == "late" else ""
    return {
        "reminder": {
            "id": reminder.pk,
            "title": reminder.title,
            "due_at": iso(reminder.due_at),
            "status": reminder.status,
            "late_by_seconds": round(late, 3),
        },
        "summary": f"Reminder: {reminder.title}{late_text}",
    }


def gate_opened(to: str) -> dict:
    return {
        "for": GATE_NAMES[to],
        "to": to,
        "summary": f"The gate is open: {GATE_WORDS[to]}",
    }


def status_update_posted(event: statusupdates.UpdatePosted) -> dict:
    update = event.update
    first_line = update.body.splitlines()[0][:200]
    colour = f" ({update.rag_word})" if update.rag else ""
    return {
        "status_update": {
            "id": update.pk,
            "body": update.body,  # Markdown, as the lead wrote it
            "rag": update.rag or None,
            "public": update.public,
            "posted_by": update.author_name,
            "posted_at": iso(update.created_at),
        },
        "summary": f"Status update{colour}: {first_line}",
    }
