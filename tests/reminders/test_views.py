"""The bell on the run page, acknowledging, and the deployment's reminder page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.reminders.dispatch import dispatch_due_reminders
from deploychecks.reminders.models import DeploymentWebhook, Reminder
from tests.reminders.conftest import WEBHOOK_SECRET, shift_into_past
from tests.webhook_receiver import PUBLIC_ADDRESS

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sent(live_deployment):
    shift_into_past(live_deployment, timedelta(minutes=16))
    dispatch_due_reminders()
    return live_deployment.reminders.get(status="sent")


def _ack_url(reminder):
    return f"/deployments/{reminder.deployment_id}/reminders/{reminder.pk}/acknowledge/"


def test_run_page_has_the_bell_with_the_open_count(sent, engineer):
    page = _client(engineer).get(sent.deployment.get_absolute_url()).content.decode()
    assert 'id="reminder-centre"' in page
    assert 'class="reminder-count has-open" data-count="1"' in page
    assert f'id="reminder-{sent.pk}"' in page
    assert f'href="#item-{sent.item_ids[0]}"' in page
    assert 'id="toasts"' in page and "js/reminders.js" in page


def test_before_go_live_the_bell_is_empty(deployment, engineer):
    page = _client(engineer).get(deployment.get_absolute_url()).content.decode()
    assert 'data-count="0"' in page and "They start when the deployment goes live." in page


def test_any_participant_acknowledges_with_a_note(sent, viewer):
    response = _client(viewer).post(
        _ack_url(sent), {"note": "smoke tests green"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-count="0"' in html and "smoke tests green" in html
    sent.refresh_from_db()
    assert (sent.status, sent.acknowledged_by, sent.acknowledged_note) == (
        "acknowledged",
        viewer,
        "smoke tests green",
    )
    event = AuditEvent.objects.get(action="reminder.acknowledged")
    assert event.actor == viewer and event.after["note"] == "smoke tests green"


def test_acknowledging_twice_changes_nothing(sent, engineer, viewer):
    _client(engineer).post(_ack_url(sent), {"note": "first"})
    _client(viewer).post(_ack_url(sent), {"note": "second"})
    sent.refresh_from_db()
    assert (sent.acknowledged_by, sent.acknowledged_note) == (engineer, "first")
    assert AuditEvent.objects.filter(action="reminder.acknowledged").count() == 1


def test_acknowledging_without_javascript_redirects_back(sent, engineer):
    response = _client(engineer).post(_ack_url(sent))
    assert response.status_code == 302
    assert response["Location"] == sent.get_absolute_url()


def test_a_pending_reminder_cannot_be_acknowledged(live_deployment, engineer):
    pending = live_deployment.reminders.filter(status="pending").first()
    response = _client(engineer).post(_ack_url(pending), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "only a reminder that went out can be acknowledged" in response.content.decode()


def test_outsider_cannot_see_or_acknowledge(sent, outsider):
    client = _client(outsider)
    assert client.get(f"/deployments/{sent.deployment_id}/reminders/centre/").status_code == 404
    assert client.post(_ack_url(sent)).status_code == 404
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_schedule_page_lists_every_reminder(sent, engineer):
    page = _client(engineer).get(f"/deployments/{sent.deployment_id}/reminders/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="reminder-') >= 25
    assert "Move go-live" not in html  # lead only


def test_lead_moves_go_live_from_the_schedule_page(sent, lead):
    deployment = sent.deployment
    new = timezone.localtime(deployment.go_live_at - timedelta(minutes=5)).replace(
        second=0, microsecond=0
    )
    response = _client(lead).post(
        f"/deployments/{deployment.pk}/reminders/go-live/",
        {"go_live_at": new.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.go_live_at == new
    pending = deployment.reminders.filter(status="pending").order_by("due_at").first()
    assert pending.due_at == new + timedelta(minutes=pending.offset_minutes)


def test_engineer_cannot_move_go_live(sent, engineer):
    deployment = sent.deployment
    before = deployment.go_live_at
    response = _client(engineer).post(
        f"/deployments/{deployment.pk}/reminders/go-live/", {"go_live_at": "2020-01-01T10:00"}
    )
    assert response.status_code == 403
    assert "Only the lead" in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.go_live_at == before


def test_lead_sets_and_removes_the_deployment_webhook(live_deployment, lead, network):
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS])
    client = _client(lead)
    url = f"/deployments/{live_deployment.pk}/reminders/webhook/"
    client.post(url, {"url": "https://hooks.example.com/T000/B000", "secret": WEBHOOK_SECRET})
    hook = DeploymentWebhook.objects.get(deployment=live_deployment)
    assert (hook.url, hook.secret) == ("https://hooks.example.com/T000/B000", WEBHOOK_SECRET)
    event = AuditEvent.objects.get(action="reminders.webhook_changed")
    assert WEBHOOK_SECRET not in str(event.after) and event.after["signed"] is True
    client.post(url, {"url": ""})
    assert not DeploymentWebhook.objects.filter(deployment=live_deployment).exists()


def test_the_webhook_form_refuses_an_internal_address_saying_why(settings, live_deployment, lead):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    url = f"/deployments/{live_deployment.pk}/reminders/webhook/"

    response = _client(lead).post(
        url, {"url": "http://169.254.169.254/latest/meta-data/", "secret": WEBHOOK_SECRET}
    )

    assert response.status_code == 400
    assert "169.254.169.254 is a cloud metadata address" in response.content.decode()
    assert not DeploymentWebhook.objects.filter(deployment=live_deployment).exists()


def test_the_reminders_page_says_an_unsigned_webhook_sends_nothing(live_deployment, lead):
    DeploymentWebhook.objects.create(
        deployment=live_deployment, url="https://hooks.example.com/x", secret=""
    )

    page = _client(lead).get(f"/deployments/{live_deployment.pk}/reminders/").content.decode()

    assert "has no signing secret, so nothing is sent until one is set" in page


def test_the_webhook_form_refuses_a_secret_in_another_form(live_deployment, lead):
    url = f"/deployments/{live_deployment.pk}/reminders/webhook/"

    response = _client(lead).post(url, {"url": "http://127.0.0.1:8000/", "secret": "s3cret"})

    assert response.status_code == 422
    assert "must be in the Standard Webhooks form" in response.content.decode()
    assert not DeploymentWebhook.objects.filter(deployment=live_deployment).exists()


def test_centre_shows_escalations_and_lateness(sent, engineer):
    Reminder.objects.filter(pk=sent.pk).update(
        status="late",
        late_by=timedelta(minutes=7),
        escalated_at=timezone.now(),
        escalated_to="Backend lead (@bob)",
    )
    html = _client(engineer).get(f"/deployments/{sent.deployment_id}/reminders/centre/")
    html = html.content.decode()
    assert "late by 7 min" in html and "escalated to Backend lead (@bob)" in html
