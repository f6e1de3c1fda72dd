"""The Webhooks area: who may subscribe to what, the secret shown once, URLs checked
for server-side request forgery when they are set, and the delivery log."""

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.runs.models import RunItem
from deploychecks.webhooks import services
from deploychecks.webhooks.catalog import EVENT_TYPES
from deploychecks.webhooks.dispatch import deliver_due_webhooks
from deploychecks.webhooks.models import Delivery, Subscription
from tests.security.inert import SCRIPT
from tests.webhooks import scenario

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**overrides) -> dict:
    data = {
        "name": "Release channel",
        "url": "https://hooks.test/deploys",
        "format": "standard",
        "service": "checkout-api",
        "event_types": ["deployment.status_changed", "gate.opened"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def public_hooks(network):
    network.resolve("hooks.test", [PUBLIC])
    return network


def test_an_admin_subscribes_to_every_service_and_sees_the_secret_once(admin_user, public_hooks):
    client = _client(admin_user)

    created = client.post(reverse("webhooks:create"), _form(service=""))

    subscription = Subscription.objects.get()
    assert created.status_code == 200
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret in created.content.decode()
    assert subscription.service == "" and subscription.scope == "all services"
    assert subscription.owner == admin_user
    assert subscription.event_types == ["deployment.status_changed", "gate.opened"]
    later = client.get(reverse("webhooks:edit", args=[subscription.pk]))
    assert later.status_code == 200 and subscription.secret not in later.content.decode()
    audit = AuditEvent.objects.get(action="webhook.subscribed")
    assert subscription.secret not in str(audit.after)


def test_a_lead_subscribes_only_to_the_services_they_lead(leading, public_hooks):
    client = _client(leading)

    page = client.get(reverse("webhooks:create")).content.decode()
    assert '<option value="checkout-api">checkout-api</option>' in page
    refused = client.post(reverse("webhooks:create"), _form(service="billing"))
    assert refused.status_code == 422 and not Subscription.objects.exists()
    with pytest.raises(NotAllowed, match="Only admins can subscribe to every service"):
        services.create_subscription(
            user=leading,
            name="All",
            url="https://hooks.test/x",
            service="",
            event_types=["item.changed"],
        )
    with pytest.raises(NotAllowed, match="only to services you lead"):
        services.create_subscription(
            user=leading,
            name="B",
            url="https://hooks.test/x",
            service="billing",
            event_types=["item.changed"],
        )

    assert client.post(reverse("webhooks:create"), _form()).status_code == 200
    assert Subscription.objects.get().owner == leading


def test_someone_who_leads_nothing_has_no_webhooks_area(engineer):
    client = _client(engineer)

    for url in (reverse("webhooks:list"), reverse("webhooks:create")):
        response = client.get(url)
        assert response.status_code == 403
        assert "Webhooks are set up by admins, and by deployment leads" in response.content.decode()


def test_a_subscription_is_its_owners_and_the_admins_only(
    subscribe, leading, admin_user, make_user, revision, public_hooks
):
    mine = subscribe("https://hooks.test/lena", user=leading, service="checkout-api")
    other_lead = make_user("olga")
    scenario.create(revision, other_lead, service="checkout-api", version="9.0.0")
    theirs = subscribe("https://hooks.test/olga", user=other_lead, service="checkout-api")

    lena = _client(leading)
    assert lena.get(reverse("webhooks:edit", args=[mine.pk])).status_code == 200
    for name in ("webhooks:edit", "webhooks:deliveries"):
        assert lena.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert (
        lena.post(reverse("webhooks:set_active", args=[theirs.pk]), {"active": "0"}).status_code
        == 404
    )
    listed = lena.get(reverse("webhooks:list")).content.decode()
    assert "hooks.test/lena" in listed and "hooks.test/olga" not in listed
    admin = _client(admin_user).get(reverse("webhooks:list")).content.decode()
    assert "hooks.test/lena" in admin and "hooks.test/olga" in admin


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "is a cloud metadata address"),
        ("http://[::ffff:10.1.2.3]/hook", "is a private address"),
        ("https://intranet.test/hook", "intranet.test (10.0.0.8) is a private address"),
        ("ftp://hooks.test/hook", "must start with https:// or http://"),
    ],
)
def test_an_internal_url_is_refused_when_a_subscription_is_saved(
    settings, network, admin_user, url, reason
):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    network.resolve("intranet.test", ["10.0.0.8"])
    network.resolve("hooks.test", [PUBLIC])

    response = _client(admin_user).post(reverse("webhooks:create"), _form(url=url))

    assert response.status_code in (400, 422)
    assert reason in response.content.decode()
    assert not Subscription.objects.exists()
    with pytest.raises(RunError, match="webhook"):
        services.create_subscription(
            user=admin_user, name="x", url=url, service="", event_types=list(EVENT_TYPES)
        )
    assert network.refused == []  # nothing was sent anywhere


def test_editing_can_replace_the_secret_which_is_shown_once(admin_user, subscribe, public_hooks):
    subscription = subscribe("https://hooks.test/a")
    old = subscription.secret
    client = _client(admin_user)

    saved = client.post(
        reverse("webhooks:edit", args=[subscription.pk]),
        _form(name="Renamed", url="https://hooks.test/b"),
    )
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.name, subscription.url, subscription.secret) == (
        "Renamed",
        "https://hooks.test/b",
        old,
    )

    rotated = client.post(reverse("webhooks:edit", args=[subscription.pk]), _form(new_secret="on"))
    subscription.refresh_from_db()
    assert rotated.status_code == 200 and subscription.secret != old
    assert subscription.secret in rotated.content.decode()
    audit = AuditEvent.objects.filter(action="webhook.subscription_changed").latest("pk")
    assert audit.after["secret"] == "replaced" and subscription.secret not in str(audit.after)


def test_disabling_and_enabling_from_the_page(admin_user, subscribe, public_hooks):
    subscription = subscribe("https://hooks.test/a")
    client = _client(admin_user)
    url = reverse("webhooks:set_active", args=[subscription.pk])

    assert client.post(url, {"active": "0"}).status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "Disabled by ada."
    page = client.get(reverse("webhooks:edit", args=[subscription.pk])).content.decode()
    assert "Enable again" in page

    client.post(url, {"active": "1"})
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.disabled_at is None
    assert [e.action for e in AuditEvent.objects.order_by("pk")][-2:] == [
        "webhook.disabled",
        "webhook.enabled",
    ]


def test_the_delivery_log_shows_each_attempt_and_offers_redelivery(
    settings, subscribe, webhook_receiver, admin_user, deployment, lead, engineer
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver = webhook_receiver(fail_first=1, status=500, body=b"<b>boom</b> the database is down")
    subscription = subscribe(receiver.url)
    item = deployment.items.first()
    RunItem.objects.filter(pk=item.pk).update(title=f"Backups {SCRIPT}")
    scenario.start(deployment, lead)
    scenario.tick(deployment, item, engineer)
    deliver_due_webhooks()
    client = _client(admin_user)
    url = reverse("webhooks:deliveries", args=[subscription.pk])

    page = client.get(url).content.decode()

    assert "HTTP 500" in page and "HTTP 200" in page
    assert "&lt;b&gt;boom&lt;/b&gt; the database is down" in page
    assert " ms" in page
    assert SCRIPT not in page and "&lt;script&gt;" in page
    failed = Delivery.objects.get(status="failed")
    redeliver = reverse("webhooks:redeliver", args=[subscription.pk, failed.pk])
    assert f'action="{redeliver}"' in page

    assert client.post(redeliver).status_code == 302
    deliver_due_webhooks()
    again = Delivery.objects.get(is_redelivery=True)
    assert again.event_id == failed.event_id and again.status == "delivered"
    assert "redelivery" in client.get(url).content.decode()
