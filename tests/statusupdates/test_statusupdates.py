"""Status updates: the lead posts, everyone on the deployment reads, followers get email."""

import re

import pytest
from django.core import mail
from django.test import Client

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import Participant
from deploychecks.statuspage import services as statuspage
from deploychecks.statusupdates import services
from deploychecks.statusupdates.models import Follower, StatusUpdate
from tests.statusupdates.conftest import post_update

pytestmark = pytest.mark.django_db

HOSTILE = (
    "<script>alert('x')</script> [click](javascript:alert(1)) "
    '<img src=x onerror="alert(2)"> **bold**'
)


def _run_page(client, deployment) -> str:
    return client.get(f"/deployments/{deployment.pk}/").content.decode()


def test_the_lead_posts_an_update_shown_at_the_top_with_its_colour_as_a_word(
    client_of, deployment, lead, viewer
):
    lead_client = client_of(lead)

    answer = post_update(lead_client, deployment, "Migrations **done**", rag="amber")
    post_update(lead_client, deployment, "Canary at 5%", rag="green")

    assert answer.status_code == 200
    assert "<strong>done</strong>" in answer.text
    page = _run_page(client_of(viewer), deployment)
    latest = page.split('id="status-update-latest"')[1].split("</div>\n  </div>")[0]
    assert "Canary at 5%" in latest and ">Green</span>" in latest
    earlier = page.split('id="status-updates-earlier"')[1]
    assert "Earlier updates (1)" in earlier and ">Amber</span>" in earlier
    # The panel sits above the go/no-go panel and the checklist.
    assert page.index('id="status-updates"') < page.index('id="checklist-items"')
    assert 'id="status-update-form"' not in page  # the viewer has no form
    assert 'id="status-update-form"' in _run_page(lead_client, deployment)
    event = AuditEvent.objects.get(action="status_update.posted", after__body="Canary at 5%")
    assert event.actor == lead and event.seq is not None
    assert event.after == {"body": "Canary at 5%", "rag": "green", "public": False}


def test_hostile_markdown_is_sanitised_on_the_run_page_and_public_page(client_of, deployment, lead):
    page = statuspage.enable(deployment_id=deployment.pk, user=lead)
    post_update(client_of(lead), deployment, HOSTILE, rag="red", public=True)

    for html in (
        _run_page(client_of(lead), deployment),
        Client().get(f"/status/{page.token}/").text,
    ):
        assert "<strong>bold</strong>" in html
        assert "<script>alert" not in html
        assert 'href="javascript' not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html  # shown as text, not run


def test_only_the_lead_posts(client_of, deployment, engineer, viewer, outsider):
    assert post_update(client_of(engineer), deployment, "Hi").status_code == 403
    assert post_update(client_of(viewer), deployment, "Hi").status_code == 403
    assert post_update(client_of(outsider), deployment, "Hi").status_code == 404
    with pytest.raises(services.NotAllowed):
        services.post_update(deployment_id=deployment.pk, user=engineer, body="Hi")
    assert not StatusUpdate.objects.exists()


def test_a_refused_update_comes_back_with_the_reason_and_the_text(client_of, deployment, lead):
    too_long = "word " * 900

    answer = post_update(client_of(lead), deployment, too_long, rag="amber")

    assert answer.status_code == 400
    assert 'role="alert"' in answer.text and "too long" in answer.text
    assert too_long.strip() in answer.text
    assert re.search(r'value="amber" checked', answer.text)
    assert post_update(client_of(lead), deployment, "  \x00 ").status_code == 400
    assert post_update(client_of(lead), deployment, "ok", rag="purple").status_code == 400
    assert not StatusUpdate.objects.exists()


def test_posting_needs_the_csrf_token(client_of, deployment, lead):
    strict = client_of(lead, enforce_csrf_checks=True)

    refused = post_update(strict, deployment, "no token")
    assert refused.status_code == 403
    assert not StatusUpdate.objects.exists()
    assert strict.post(f"/deployments/{deployment.pk}/follow/", {"follow": "1"}).status_code == 403
    assert not Follower.objects.exists()


def test_a_public_update_reaches_the_status_page_without_its_authors_name(
    client_of, deployment, lead
):
    page = statuspage.enable(deployment_id=deployment.pk, user=lead)
    post_update(client_of(lead), deployment, "Internal: DB failover drill", rag="amber")
    post_update(client_of(lead), deployment, "We expect to be done by 14:00", public=True)

    html = Client().get(f"/status/{page.token}/").text

    assert "We expect to be done by 14:00" in html
    assert "DB failover drill" not in html
    assert lead.username not in html


def test_followers_get_each_update_by_email(
    client_of, deployment, lead, viewer, engineer, django_capture_on_commit_callbacks
):
    follow = client_of(viewer).post(
        f"/deployments/{deployment.pk}/follow/", {"follow": "1"}, headers={"HX-Request": "true"}
    )
    assert follow.status_code == 200 and ">Unfollow</button>" in follow.text
    services.set_following(deployment_id=deployment.pk, user=lead, follow=True)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        post_update(client_of(lead), deployment, "Rolling out to **EU**", rag="red")

    assert [m.to for m in mail.outbox] == [[viewer.email]]  # not the author, not non-followers
    message = mail.outbox[0]
    assert message.subject == "[Red] Status update: checkout-api 2.0.0"
    assert "Rolling out to **EU**" in message.body
    assert f"/deployments/{deployment.pk}/" in message.body
    assert AuditEvent.objects.filter(action="status_update.followed", actor=viewer).exists()


def test_unfollowing_or_losing_access_stops_the_emails(
    client_of, deployment, lead, viewer, engineer, django_capture_on_commit_callbacks
):
    services.set_following(deployment_id=deployment.pk, user=viewer, follow=True)
    services.set_following(deployment_id=deployment.pk, user=engineer, follow=True)
    client_of(viewer).post(f"/deployments/{deployment.pk}/follow/", {"follow": "0"})
    Participant.objects.filter(deployment=deployment, user=engineer).delete()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(deployment_id=deployment.pk, user=lead, body="Still fine")

    assert mail.outbox == []
    assert list(Follower.objects.values_list("user", flat=True)) == [engineer.pk]


def test_outsiders_cannot_follow(client_of, deployment, outsider):
    answer = client_of(outsider).post(f"/deployments/{deployment.pk}/follow/", {"follow": "1"})

    assert answer.status_code == 404
    assert not Follower.objects.exists()


def test_a_webhook_subscription_gets_status_update_posted(deployment, lead, admin_user, settings):
    from deploychecks.webhooks import services as webhooks
    from deploychecks.webhooks.formats import slack_text
    from deploychecks.webhooks.models import Event

    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    webhooks.create_subscription(
        user=admin_user,
        name="Status",
        url="https://hooks.example.com/status",
        service="",
        event_types=["status_update.posted"],
        format="standard",
    )

    services.post_update(
        deployment_id=deployment.pk, user=lead, body="Halfway\nsecond line", rag="amber"
    )

    event = Event.objects.get(type="status_update.posted")
    assert event.payload["status_update"]["body"] == "Halfway\nsecond line"
    assert event.payload["status_update"]["rag"] == "amber"
    assert event.payload["summary"] == "Status update (Amber): Halfway"
    assert slack_text(event).startswith(":loudspeaker: *checkout-api 2.0.0")


def test_without_javascript_a_refusal_keeps_the_text_and_a_post_returns_to_the_page(
    client_of, deployment, lead
):
    refused = post_update(client_of(lead), deployment, "x" * 4001, htmx=False)

    assert refused.status_code == 400
    assert "too long" in refused.text and "x" * 4001 in refused.text
    posted = post_update(client_of(lead), deployment, "Fine", htmx=False)
    assert posted.status_code == 302 and posted["Location"] == f"/deployments/{deployment.pk}/"


def test_the_timeline_says_an_update_was_posted(client_of, deployment, lead):
    services.post_update(deployment_id=deployment.pk, user=lead, body="Halfway")

    timeline = client_of(lead).get(f"/deployments/{deployment.pk}/timeline/").text

    assert 'data-action="status_update.posted"' in timeline
    assert "posted a status update" in timeline
