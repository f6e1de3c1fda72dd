"""The public status page: the lead's controls, the derived states, and that nothing leaks."""

import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from deploychecks.asgi import application
from deploychecks.gonogo.rollback import start_rollback
from deploychecks.runs.services import NotAllowed, change_status
from deploychecks.statuspage import services
from deploychecks.statuspage.models import StatusPage
from tests.sockets import WebsocketCommunicator, anonymous_headers, messages_until_quiet


def _lead_client(lead):
    client = Client()
    client.force_login(lead)
    return client


def test_the_lead_enables_the_page_and_anyone_can_read_it(deployment, lead):
    response = _lead_client(lead).post(
        f"/deployments/{deployment.pk}/status-page/", {"action": "enable"}
    )
    assert response.status_code == 302
    page = StatusPage.objects.get()
    assert len(page.token) >= 40
    public = Client().get(f"/status/{page.token}/")
    assert public.status_code == 200
    html = public.content.decode()
    assert "Scheduled maintenance" in html
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
    assert public["Cache-Control"] == "no-store"
    assert "<script" not in html.replace('<script src="/static/js/status.js" defer>', "")


def test_only_the_lead_manages_the_page(deployment, engineer):
    with pytest.raises(NotAllowed):
        services.enable(deployment_id=deployment.pk, user=engineer)
    client = Client()
    client.force_login(engineer)
    assert client.get(f"/deployments/{deployment.pk}/status-page/").status_code == 404


def test_disabling_and_rotating_kill_the_old_url(deployment, lead):
    page = services.enable(deployment_id=deployment.pk, user=lead)
    first = page.token
    services.rotate(deployment_id=deployment.pk, user=lead)
    page.refresh_from_db()
    assert page.token != first
    assert Client().get(f"/status/{first}/").status_code == 404
    assert Client().get(f"/status/{page.token}/").status_code == 200
    services.disable(deployment_id=deployment.pk, user=lead)
    assert Client().get(f"/status/{page.token}/").status_code == 404
    services.enable(deployment_id=deployment.pk, user=lead)
    assert Client().get(f"/status/{page.token}/").status_code == 200
    assert Client().get("/status/not-a-token/").status_code == 404


def test_the_state_follows_the_deployment(live_deployment, deployment, lead, engineer):
    assert services.public_state(live_deployment).label == "Monitoring"
    labels = [m.label for m in services.public_state(live_deployment).milestones]
    assert labels == ["Scheduled maintenance", "Deployment in progress", "Monitoring"]
    start_rollback(deployment_id=live_deployment.pk, reason="errors", user=engineer)
    assert services.public_state(live_deployment).label == "Rollback in progress"
    change_status(deployment_id=live_deployment.pk, to="rolled_back", user=lead)
    live_deployment.refresh_from_db()
    state = services.public_state(live_deployment)
    assert state.label == "Service restored" and state.since == live_deployment.ended_at


def test_completed_deployments_are_operational(live_deployment, lead, settings):
    from deploychecks.runs.models import Deployment

    Deployment.objects.filter(pk=live_deployment.pk).update(status="completed")
    live_deployment.refresh_from_db()
    assert services.public_state(live_deployment).label == "Operational"


def test_the_message_is_plain_text(deployment, lead):
    services.enable(deployment_id=deployment.pk, user=lead)
    services.post_message(
        deployment_id=deployment.pk,
        user=lead,
        message="Back soon <script>alert(1)</script>\x07",
        eta="by 14:30 UTC",
        title="Checkout maintenance",
    )
    page = StatusPage.objects.get()
    html = Client().get(f"/status/{page.token}/").content.decode()
    assert "Back soon &lt;script&gt;alert(1)&lt;/script&gt;" in html and "\x07" not in html
    assert "by 14:30 UTC" in html and "Checkout maintenance" in html


@pytest.mark.django_db(transaction=True)
def test_nothing_internal_leaks_to_the_page_or_its_socket(
    live_deployment, lead, engineer, second_engineer, viewer, approver, purge_audit_events
):
    from deploychecks.gonogo.services import record_reading
    from deploychecks.runs.services import add_item_note

    page = services.enable(deployment_id=live_deployment.pk, user=lead)
    item = live_deployment.items.order_by("phase__position", "position").first()
    secrets_ = {
        "note": "the db password rotation failed on replica-7",
        "reason": "customer invoices duplicated in eu-west",
        "value": "1.2345",
    }

    def make_changes():
        add_item_note(
            deployment_id=live_deployment.pk, item_id=item.pk, body=secrets_["note"], user=engineer
        )
        record_reading(
            deployment_id=live_deployment.pk,
            signal_name="Error rate",
            value=float(secrets_["value"]),
            note="spike on /pay",
            user=engineer,
        )
        start_rollback(
            deployment_id=live_deployment.pk, reason=secrets_["reason"], user=second_engineer
        )
        services.post_message(
            deployment_id=live_deployment.pk,
            user=lead,
            message="We are restoring the previous version.",
            eta="15 min",
        )

    async def scenario():
        socket = WebsocketCommunicator(
            application, f"/ws/status/{page.token}/", headers=anonymous_headers()
        )
        connected, _ = await socket.connect(timeout=30)
        assert connected
        await sync_to_async(make_changes)()
        messages = await messages_until_quiet(socket, quiet=1.5)
        await socket.disconnect()
        return messages

    messages = async_to_sync(scenario)()
    assert messages and all(m["type"] == "status" for m in messages)
    assert "Rollback in progress" in messages[-1]["html"]
    assert "We are restoring the previous version." in messages[-1]["html"]
    html = Client().get(f"/status/{page.token}/").content.decode()
    assert "Rollback in progress" in html

    forbidden = [
        *secrets_.values(),
        "spike on /pay",
        live_deployment.release_name,
        live_deployment.service,
        "Error rate",
        "p95",
        "Data corruption",
    ]
    for person in (lead, engineer, second_engineer, viewer, approver):
        forbidden += [person.username, person.get_full_name()]
    forbidden += [i.title for i in live_deployment.items.all()]
    forbidden = [f for f in forbidden if f.strip()]
    for text in [html, *(m["html"] for m in messages)]:
        # Whole words: a viewer called "vic" is not leaked by the word "service".
        leaked = [f for f in forbidden if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)]
        assert leaked == []


@pytest.mark.django_db(transaction=True)
def test_a_rotated_or_disabled_page_closes_its_socket(deployment, lead, purge_audit_events):
    page = services.enable(deployment_id=deployment.pk, user=lead)

    async def scenario():
        socket = WebsocketCommunicator(
            application, f"/ws/status/{page.token}/", headers=anonymous_headers()
        )
        assert (await socket.connect(timeout=30))[0]
        await sync_to_async(services.rotate)(deployment_id=deployment.pk, user=lead)
        closed = await socket.receive_output(30)
        refused = WebsocketCommunicator(
            application, f"/ws/status/{page.token}/", headers=anonymous_headers()
        )
        return closed, await refused.connect(timeout=30)

    closed, refused = async_to_sync(scenario)()
    assert closed == {"type": "websocket.close", "code": 4404}
    assert refused == (False, 4404)
