"""A deployment driven through every kind of event, through the services as people would.

Used by the event tests (in one transaction) and by the worker-restart test (each
step committed, a worker delivering meanwhile). Each step returns nothing: what
was written is read back from the outbox.
"""

from datetime import timedelta

from django.db.models import F

from deploychecks.gonogo.rollback import start_rollback
from deploychecks.gonogo.services import record_reading
from deploychecks.reminders.dispatch import DispatchReport, release_due_reminders
from deploychecks.reminders.models import ReminderRule
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import change_status, create_deployment, set_item_state
from deploychecks.signoffs.services import checklist_hash, sign_off
from deploychecks.statusupdates.services import post_update
from tests.gates import confirmed_request, fill_contacts

REMINDER_OFFSET_MINUTES = 600


def create(
    revision, lead, *, engineers=(), approvers=None, version="2.0.0", service="checkout-api"
):
    return create_deployment(
        revision,
        user=lead,
        release_name="Spring release",
        version=version,
        previous_version="1.1.0",
        service=service,
        lead=lead,
        engineers=list(engineers),
        approvers=approvers or {},
    )


def one_reminder(revision) -> None:
    """The revision's schedule: one reminder, far enough out that only the test sends it."""
    ReminderRule.objects.filter(revision=revision).delete()
    ReminderRule.objects.create(
        revision=revision,
        position=1,
        kind="once",
        offset_minutes=REMINDER_OFFSET_MINUTES,
        title="Check the error budget",
        notify=["lead"],
    )


def tick(deployment, item, user, state="done"):
    item.refresh_from_db()
    set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state=state,
        expected_version=item.version,
        user=user,
    )


def start(deployment, lead):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)


def pre_go_live_items(deployment):
    return RunItem.objects.filter(deployment=deployment, phase__stage="before").order_by(
        "phase__position", "position"
    )


def tick_all_but_last_before_go_live(deployment):
    """Set-up straight in the database (no events): every pre-go-live item done but
    one, and the contacts filled in."""
    fill_contacts(deployment)
    items = list(pre_go_live_items(deployment).values_list("pk", flat=True))
    RunItem.objects.filter(pk__in=items[:-1]).update(state="done", version=F("version") + 1)
    return RunItem.objects.get(pk=items[-1])


def approve(deployment, approver, role_name="QA Lead"):
    role = deployment.signoff_roles.get(name=role_name)
    sign_off(
        deployment_id=deployment.pk,
        role_id=role.pk,
        user=approver,
        decision="approve",
        comment="Looks good",
        request=confirmed_request(approver),
        expected_hash=checklist_hash(deployment.pk),
    )


def reading(deployment, user, value):
    record_reading(
        deployment_id=deployment.pk, signal_name="Data corruption", value=value, user=user
    )


def go_live(deployment, lead):
    change_status(deployment_id=deployment.pk, to="monitoring", user=lead)


def send_reminder(deployment):
    deployment.refresh_from_db()
    due = deployment.go_live_at + timedelta(minutes=REMINDER_OFFSET_MINUTES + 1)
    release_due_reminders(DispatchReport(), now=due)


def post_status_update(deployment, lead):
    post_update(
        deployment_id=deployment.pk, user=lead, body="Live; watching the error rate", rag="green"
    )


def first_after_go_live_item(deployment):
    return (
        RunItem.objects.filter(deployment=deployment, phase__stage="after")
        .order_by("phase__position", "position")
        .first()
    )


def roll_back(deployment, engineer):
    """Start a rollback and tick every rollback step's items: it ends rolled back."""
    start_rollback(deployment_id=deployment.pk, reason="Corrupt rows in orders", user=engineer)
    steps = RunItem.objects.filter(
        deployment=deployment, phase__is_rollback=True, step__isnull=False
    ).order_by("position")
    for item in steps:
        tick(deployment, item, engineer)


def every_event(deployment, *, lead, engineer, approver):
    """Everything after creation, in an order that makes each event type happen."""
    start(deployment, lead)  # deployment.status_changed
    last = tick_all_but_last_before_go_live(deployment)
    tick(deployment, last, engineer)  # item.changed, gate.opened
    approve(deployment, approver)  # signoff.changed
    reading(deployment, engineer, 1)  # verdict.changed (RED)
    reading(deployment, engineer, 0)  # verdict.changed (GREEN), gate.opened again
    go_live(deployment, lead)  # deployment.status_changed
    send_reminder(deployment)  # reminder.sent
    post_status_update(deployment, lead)  # status_update.posted
    # item.changed, then signoff.changed (the approval goes stale)
    tick(deployment, first_after_go_live_item(deployment), engineer)
    # rollback.started, item.changed and rollback.step_done per step,
    # deployment.status_changed (rolled back), rollback.finished
    roll_back(deployment, engineer)
