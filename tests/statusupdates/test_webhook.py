"""A status update reaches a webhook receiver, signed, through the outbox."""

import pytest

from deploychecks.statusupdates import services
from deploychecks.webhooks import services as webhooks
from deploychecks.webhooks.dispatch import deliver_due_webhooks
from tests.webhook_receiver import verify

pytestmark = pytest.mark.django_db


def test_a_receiver_gets_the_update_signed(
    webhook_receiver, deployment, lead, admin_user, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    receiver = webhook_receiver()
    subscription = webhooks.create_subscription(
        user=admin_user,
        name="Status",
        url=receiver.url,
        service="",
        event_types=["status_update.posted"],
    )

    services.post_update(
        deployment_id=deployment.pk, user=lead, body="Canary **green**", rag="green", public=True
    )
    report = deliver_due_webhooks()

    assert len(report.delivered) == 1 and not report.failed
    payload = verify(receiver.requests[0], subscription.secret)
    assert payload["type"] == "status_update.posted"
    update = payload["data"]["status_update"]
    assert update["body"] == "Canary **green**"
    assert (update["rag"], update["public"], update["posted_by"]) == ("green", True, "Lena Lead")
