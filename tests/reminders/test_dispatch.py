"""dispatch_due_reminders: release, deliver on each channel once, catch up, survive crashes."""

import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core import mail
from django.db import connection
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.reminders.dispatch import (
    DispatchReport,
    claim_next_delivery,
    dispatch_due_reminders,
    release_due_reminders,
)
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs.services import change_status
from tests.reminders.conftest import go_live, set_rules, shift_into_past
from tests.sockets import browser_headers, messages_until_quiet, open_socket


def _deliveries(reminder):
    return {d.channel: d for d in reminder.deliveries.filter(purpose="reminder")}


@pytest.mark.django_db
def test_a_due_reminder_goes_out_by_page_and_email(
    live_deployment, lead, engineer, second_engineer
):
    shift_into_past(live_deployment, timedelta(minutes=16))

    report = dispatch_due_reminders()

    reminder = Reminder.objects.get(pk__in=report.released)
    assert (reminder.offset_minutes, reminder.status) == (15, "sent")
    assert reminder.sent_at and reminder.late_by < timedelta(minutes=2)
    deliveries = _deliveries(reminder)
    assert set(deliveries) == {"page", "email"}  # no webhook configured
    assert all(d.status == "sent" and d.attempts == 1 for d in deliveries.values())
    [message] = mail.outbox
    assert message.to == [lead.email, engineer.email, second_engineer.email]
    assert "Re-run the smoke tests" in message.subject and "checkout-api 2.0.0" in message.subject
    link = f"https://deploychecks.example.com/deployments/{live_deployment.pk}/#reminder-"
    assert link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link in html and "#item-" in html
    assert message.extra_headers["Message-ID"].startswith(f"<reminder-{reminder.pk}-reminder@")
    assert AuditEvent.objects.filter(action="reminder.sent", target_id=str(reminder.pk)).exists()
    # Nothing else is due: a second run sends nothing again.
    assert dispatch_due_reminders().sent == []
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_rule_can_name_contacts_by_role(revision, deployment, lead):
    set_rules(revision, ("Call the DBA", 5, ["lead", "contact:database admin"]))
    deployment.contacts.all().delete()
    deployment.contacts.create(position=1, role="Database admin", person="dba@example.com")
    deployment.contacts.create(position=2, role="Sponsor", person="boss@example.com")
    live = go_live(deployment, lead)
    shift_into_past(live, timedelta(minutes=6))

    dispatch_due_reminders()

    [message] = mail.outbox
    assert message.to == [lead.email, "dba@example.com"]


@pytest.mark.django_db
def test_nothing_is_sent_before_it_is_due(live_deployment):
    report = dispatch_due_reminders()
    assert report == DispatchReport()
    assert not mail.outbox


@pytest.mark.django_db
def test_catch_up_sends_each_overdue_rule_once_and_marks_it_late(live_deployment):
    # Everything was down for the first 3 h 05 min after go-live.
    shift_into_past(live_deployment, timedelta(minutes=185))

    report = dispatch_due_reminders()

    released = Reminder.objects.filter(pk__in=report.released).order_by("due_at")
    assert [(r.offset_minutes, r.title[:20]) for r in released] == [
        (60, "Re-run the smoke tes"),  # the last smoke test of hour 1
        (120, "Deployment sync meet"),  # a one-off: sent, however late
        (180, "Call the health chec"),
        (180, "Work through the fea"),
    ]
    assert {r.status for r in released} == {"late"}
    late_by = {r.offset_minutes: r.late_by for r in released}
    assert timedelta(minutes=124) < late_by[60] < timedelta(minutes=126)
    assert timedelta(minutes=4) < late_by[180] < timedelta(minutes=6)
    missed = Reminder.objects.filter(deployment=live_deployment, status="missed")
    assert sorted(r.offset_minutes for r in missed) == [15, 30, 45, 90, 120, 120, 150]
    assert len(mail.outbox) == 4
    assert AuditEvent.objects.filter(action="reminder.missed").count() == 7
    # Back to normal: nothing is repeated on the next run.
    assert dispatch_due_reminders().released == []


@pytest.mark.django_db
def test_a_rolled_back_deployment_gets_no_reminders(live_deployment, lead):
    shift_into_past(live_deployment, timedelta(hours=2))
    change_status(deployment_id=live_deployment.pk, to="rolled_back", user=lead)

    report = dispatch_due_reminders()

    assert report.released == [] and not mail.outbox
    assert set(live_deployment.reminders.values_list("status", flat=True)) == {"cancelled"}


@pytest.mark.django_db
def test_a_failing_channel_does_not_hold_up_the_others(settings, live_deployment, webhook_receiver):
    sink = webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = sink.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    shift_into_past(live_deployment, timedelta(minutes=16))

    report = dispatch_due_reminders()

    deliveries = _deliveries(Reminder.objects.get(pk__in=report.released))
    assert deliveries["page"].status == "sent"
    assert deliveries["webhook"].status == "sent" and len(sink.requests) == 1
    email = deliveries["email"]
    assert email.status == "pending" and email.attempts == 1
    assert "Connection refused" in email.last_error or "Errno" in email.last_error
    assert email.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_a_delivery_whose_dispatcher_died_is_sent_after_its_lease(settings, live_deployment):
    settings.REMINDER_DELIVERY_LEASE_SECONDS = 0.3
    shift_into_past(live_deployment, timedelta(minutes=16))
    start = timezone.now()
    release_due_reminders(DispatchReport(), now=start)
    # A dispatcher claims the page delivery, then is killed before sending it.
    dead = claim_next_delivery(now=start)
    assert dead.channel == "page" and dead.status == "sending"
    # While its lease runs, nobody else touches it.
    dispatch_due_reminders(now=start)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("sending", 1)

    dispatch_due_reminders(now=start + timedelta(seconds=0.35))

    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("sent", 2)
    assert "interrupted" in dead.last_error
    assert len(mail.outbox) == 1  # the email went out once, in the first run


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_deliver_each_channel_exactly_once(
    settings, revision, deployment, lead, webhook_receiver, purge_audit_events
):
    sink = webhook_receiver()
    settings.REMINDER_WEBHOOK_URL = sink.url
    set_rules(revision, *[(f"Check {n}", n) for n in range(1, 13)], ("Every minute", (1, 12, 1)))
    live = go_live(deployment, lead)
    shift_into_past(live, timedelta(minutes=30))
    for reminder in Reminder.objects.filter(title="Every minute"):
        # Make the repeat's occurrences fall due one by one, during the race.
        reminder.due_at = timezone.now() + timedelta(milliseconds=40 * reminder.offset_minutes)
        reminder.save(update_fields=["due_at"])
    start = threading.Barrier(2)
    reports, errors = [], []

    def dispatcher():
        try:
            start.wait()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                reports.append(dispatch_due_reminders())
                if not (
                    Reminder.objects.filter(status="pending").exists()
                    or ReminderDelivery.objects.exclude(status="sent").exists()
                ):
                    break
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    released = [pk for r in reports for pk in r.released]
    missed = [pk for r in reports for pk in r.missed]
    assert len(released) == len(set(released))  # nobody released a reminder twice
    assert not set(released) & set(missed)
    assert len(released) + len(missed) == 24 and len(released) >= 13
    sent = [pk for r in reports for pk in r.sent]
    assert len(sent) == len(set(sent)) == 3 * len(released)
    assert ReminderDelivery.objects.exclude(status="sent").count() == 0
    assert set(ReminderDelivery.objects.values_list("attempts", flat=True)) == {1}
    assert len(mail.outbox) == len(released)
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == len(released)
    assert len(sink.requests) == len(released)
    assert len({r["headers"]["X-Deploychecks-Delivery"] for r in sink.requests}) == len(released)
    assert AuditEvent.objects.filter(action="reminder.sent").count() == len(released)
    # Both did some of the work (otherwise this proved nothing about concurrency).
    assert sum(1 for r in reports if r.sent) >= 2


@pytest.mark.django_db(transaction=True)
def test_every_open_view_gets_the_toast(live_deployment, engineer, viewer, purge_audit_events):
    shift_into_past(live_deployment, timedelta(minutes=16))
    views = [browser_headers(engineer), browser_headers(viewer)]

    async def scenario():
        sockets = [await open_socket(live_deployment.pk, headers) for headers in views]
        await messages_until_quiet(sockets[0], quiet=0.3)
        await sync_to_async(dispatch_due_reminders)()
        received = [await messages_until_quiet(socket) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        return received

    received = async_to_sync(scenario)()

    reminder = live_deployment.reminders.get(status="sent")
    for messages in received:
        toasts = [m for m in messages if m["type"] == "toast"]
        assert len(toasts) == 1
        assert toasts[0]["reminder_id"] == reminder.pk
        assert "Re-run the smoke tests" in toasts[0]["html"]
        assert f'href="#item-{reminder.item_ids[0]}"' in toasts[0]["html"]
