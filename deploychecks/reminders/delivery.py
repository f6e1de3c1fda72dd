"""Sending one reminder delivery on its channel: the page, email or a webhook.

Each sender raises on failure; dispatch.py records the outcome. Email and
webhook carry a key that stays the same on every attempt of one delivery
(the Message-ID, and the webhook-id header), so the rare resend after a
dispatcher died mid-send can be recognised by the receiver. Webhooks go through
core.webhooks, which signs them and refuses internal addresses.
"""

import json
from urllib.parse import urlparse

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from deploychecks.core import webhooks
from deploychecks.reminders import live
from deploychecks.reminders.centre import reminder_context
from deploychecks.reminders.models import DeploymentWebhook, ReminderDelivery


class DeliveryFailed(Exception):
    pass


def webhook_target(deployment_id: int) -> tuple[str, str] | None:
    """(url, secret) of the deployment's own webhook, else the global one, else None."""
    own = DeploymentWebhook.objects.filter(deployment_id=deployment_id).first()
    if own is not None:
        return own.url, own.secret
    if settings.REMINDER_WEBHOOK_URL:
        return settings.REMINDER_WEBHOOK_URL, settings.REMINDER_WEBHOOK_SECRET
    return None


def deliver(delivery: ReminderDelivery) -> None:
    escalation = (
        delivery.reminder.escalated_to
        if delivery.purpose == ReminderDelivery.Purpose.ESCALATION
        else ""
    )
    if delivery.channel == ReminderDelivery.Channel.PAGE:
        live.send_toast(delivery.reminder, escalation=escalation)
    elif delivery.channel == ReminderDelivery.Channel.EMAIL:
        send_email(delivery, escalation)
    elif delivery.channel == ReminderDelivery.Channel.WEBHOOK:
        send_webhook(delivery, escalation)
    else:
        raise DeliveryFailed(f"unknown channel {delivery.channel!r}")


# --- Email -----------------------------------------------------------------------------


def message_id(delivery: ReminderDelivery) -> str:
    domain = urlparse(settings.SITE_URL).hostname or "deploychecks.invalid"
    return f"<reminder-{delivery.reminder_id}-{delivery.purpose}@{domain}>"


def send_email(delivery: ReminderDelivery, escalation: str) -> None:
    reminder = delivery.reminder
    context = {
        **reminder_context(reminder),
        "escalation": escalation,
        "site_url": settings.SITE_URL,
    }
    deployment = reminder.deployment
    prefix = "Escalation: " if escalation else ""
    subject = f"[Deploychecks] {prefix}{reminder.title} · {deployment.service} {deployment.version}"
    message = EmailMultiAlternatives(
        subject=subject[:250],
        body=render_to_string("reminders/email.txt", context),
        to=delivery.recipients,
        headers={"Message-ID": message_id(delivery), "X-Deploychecks-Reminder": str(reminder.pk)},
    )
    message.attach_alternative(render_to_string("reminders/email.html", context), "text/html")
    message.send()


# --- Webhook ---------------------------------------------------------------------------


def webhook_text(delivery: ReminderDelivery, escalation: str) -> str:
    reminder = delivery.reminder
    deployment = reminder.deployment
    url = settings.SITE_URL + reminder.get_absolute_url()
    what = f"{deployment.service} {deployment.version} ({deployment.release_name})"
    when = f"due {timezone.localtime(reminder.due_at):%Y-%m-%d %H:%M %Z}"
    if reminder.status == reminder.Status.LATE and reminder.late_by:
        when += f", sent {int(reminder.late_by.total_seconds() // 60)} min late"
    if escalation:
        return (
            f":rotating_light: Escalation to {escalation}: “{reminder.title}” on {what} "
            f"has not been acknowledged ({when}). <{url}|Open the deployment>"
        )
    return f":alarm_clock: {reminder.title} — {what}, {when}. <{url}|Open the deployment>"


def send_webhook(delivery: ReminderDelivery, escalation: str) -> None:
    target = webhook_target(delivery.reminder.deployment_id)
    if target is None:
        raise DeliveryFailed("no webhook is configured any more")
    url, secret = target
    body = json.dumps({"text": webhook_text(delivery, escalation)}).encode()
    try:
        webhooks.send(
            url,
            body,
            secret=secret,
            # The same on every attempt of this delivery: receivers can drop repeats.
            delivery_id=f"{delivery.reminder_id}-{delivery.purpose}",
            user_agent="Deploychecks-Reminders/1",
        )
    except webhooks.WebhookError as exc:
        raise DeliveryFailed(exc.message) from None
