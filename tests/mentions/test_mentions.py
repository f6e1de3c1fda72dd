"""@name in a note: told once through the reminder channels, only people on the deployment."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deploychecks.mentions.models import Mention
from deploychecks.mentions.parsing import highlight, mentioned_names
from deploychecks.reminders.dispatch import dispatch_due_reminders, release_now
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs.models import ItemNote
from deploychecks.runs.services import add_item_note, edit_item_note
from deploychecks.webhooks import services as webhooks
from deploychecks.webhooks.catalog import EVENT_TYPES
from deploychecks.webhooks.models import Event

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _add(client, deployment, item, body, **data):
    return client.post(
        reverse("runs:add_note", args=[deployment.pk, item.pk]),
        {"body": body, **data},
        HTTP_HX_REQUEST="true",
    )


def _mentions_of(user):
    return Reminder.objects.filter(kind=Reminder.Kind.MENTION, notify=[f"user:{user.pk}"])


def test_a_mentioned_participant_is_told_exactly_once(
    deployment, engineer, viewer, first_item, mailoutbox
):
    response = _add(_client(engineer), deployment, first_item, "@vic please look at the canary")

    assert response.status_code == 200
    note = ItemNote.objects.get(item=first_item)
    assert list(Mention.objects.filter(note=note).values_list("user_id", flat=True)) == [viewer.pk]
    reminder = _mentions_of(viewer).get()
    assert reminder.item_ids == [first_item.pk]
    assert reminder.title == f"erin mentioned @vic on “{first_item.title}”"
    assert reminder.status == Reminder.Status.SENT  # in the bell at once

    dispatch_due_reminders()
    dispatch_due_reminders()  # a second run sends nothing again

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["vic@example.com"]
    assert "mentioned @vic" in email.subject
    assert f"{deployment.get_absolute_url()}#item-{first_item.pk}" in email.body
    assert deployment.audit_events.filter(action="mention.notified").count() == 1


def test_a_mention_is_personal_and_never_posted_to_a_webhook(
    settings, deployment, engineer, viewer, first_item, admin_user
):
    # The deployment has a reminder webhook (chat) and a subscription to every event.
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_DELIVER_ON_COMMIT = False
    settings.REMINDER_WEBHOOK_URL = "http://127.0.0.1:9/hook"
    settings.REMINDER_WEBHOOK_SECRET = "whsec_" + "A" * 32
    webhooks.create_subscription(
        user=admin_user,
        name="Chat",
        url="http://127.0.0.1:9/events",
        service="",
        event_types=list(EVENT_TYPES),
    )

    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="@vic look", user=engineer
    )

    mention = _mentions_of(viewer).get()  # the person's own reminder: bell, toast, email
    channels = set(mention.deliveries.values_list("channel", flat=True))
    assert channels == {ReminderDelivery.Channel.PAGE, ReminderDelivery.Channel.EMAIL}
    assert not Event.objects.filter(deployment=deployment, type="reminder.sent").exists()
    # The same release for an overdue item does reach both webhooks.
    with transaction.atomic():
        overdue = release_now(
            deployment, title="Overdue", due_at=timezone.now(), item_ids=[], emails=[]
        )
    assert overdue.deliveries.filter(channel=ReminderDelivery.Channel.WEBHOOK).exists()
    assert Event.objects.filter(deployment=deployment, type="reminder.sent").count() == 1


def test_an_edit_tells_only_the_people_it_adds(deployment, engineer, viewer, approver, first_item):
    note = add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="@vic see this", user=engineer
    ).obj

    edit_item_note(
        deployment_id=deployment.pk, note_id=note.pk, body="@vic see this, now", user=engineer
    )
    edit_item_note(deployment_id=deployment.pk, note_id=note.pk, body="nobody", user=engineer)
    edit_item_note(
        deployment_id=deployment.pk, note_id=note.pk, body="@vic and @quinn", user=engineer
    )

    assert _mentions_of(viewer).count() == 1
    assert _mentions_of(approver).count() == 1
    assert Mention.objects.filter(note=note).count() == 2


def test_the_author_is_not_told_about_their_own_note(deployment, engineer, first_item):
    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="note to self @erin", user=engineer
    )

    assert not Reminder.objects.filter(kind=Reminder.Kind.MENTION).exists()


def test_the_lead_can_be_mentioned_case_insensitively(deployment, engineer, lead, first_item):
    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="@LENA, go/no-go?", user=engineer
    )

    assert _mentions_of(lead).count() == 1


@pytest.mark.parametrize("name", ["otto", "nobody_here"])
def test_mentioning_a_non_participant_is_refused_and_the_text_stays_in_the_form(
    deployment, engineer, outsider, first_item, name, mailoutbox
):
    body = f"@vic and @{name}: the canary is red"

    response = _add(_client(engineer), deployment, first_item, body)

    assert response.status_code == 422
    html = response.content.decode()
    assert f"Only the people on this deployment can be mentioned, and @{name} is not" in html
    assert f">{body}</textarea>" in html  # given back in the open Add note form
    assert f'id="item-{first_item.pk}-note" open' in html
    # Nothing was saved, and nobody (not even @vic) was told.
    assert not ItemNote.objects.filter(item=first_item).exists()
    assert not Reminder.objects.filter(kind=Reminder.Kind.MENTION).exists()
    dispatch_due_reminders()
    assert mailoutbox == []


def test_a_refused_reply_keeps_its_text_in_the_reply_form(deployment, engineer, first_item):
    parent = add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="First", user=engineer
    ).obj

    response = _add(_client(engineer), deployment, first_item, "cc @otto", reply_to=parent.pk)

    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="thread-note-{parent.pk}-reply" open' in html
    assert ">cc @otto</textarea>" in html
    assert ItemNote.objects.filter(item=first_item).count() == 1


def test_an_edit_keeping_someone_who_left_is_not_refused(deployment, engineer, viewer, first_item):
    note = add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="@vic look", user=engineer
    ).obj
    deployment.participants.filter(user=viewer).delete()

    edit_item_note(
        deployment_id=deployment.pk, note_id=note.pk, body="@vic look again", user=engineer
    )

    note.refresh_from_db()
    assert note.body == "@vic look again"


def test_mentions_are_highlighted_and_hostile_text_is_escaped(deployment, engineer, first_item):
    _add(
        _client(engineer),
        deployment,
        first_item,
        '@vic <script>alert(1)</script> @quinn"><img src=x onerror=alert(2)>',
    )

    html = _client(engineer).get(deployment.get_absolute_url()).content.decode()
    assert '<strong class="mention">@vic</strong>' in html
    assert '<strong class="mention">@quinn</strong>&quot;&gt;&lt;img src=x' in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_parsing_finds_names_not_email_addresses():
    assert mentioned_names("@vic, @Quinn. mail bob@example.com (@sam) @vic") == [
        "vic",
        "Quinn",
        "sam",
    ]
    assert str(highlight("<b>@a.b</b>.")) == (
        '&lt;b&gt;<strong class="mention">@a.b</strong>&lt;/b&gt;.'
    )


def test_a_mention_is_in_the_bell_of_its_person_only_and_theirs_to_mark_done(
    deployment, engineer, second_engineer, viewer, first_item
):
    add_item_note(
        deployment_id=deployment.pk, item_id=first_item.pk, body="@vic look", user=engineer
    )
    mention = _mentions_of(viewer).get()
    bell = reverse("reminders:centre", args=[deployment.pk])
    done = reverse("reminders:acknowledge", args=[deployment.pk, mention.pk])

    assert "mentioned @vic" in _client(viewer).get(bell).content.decode()
    assert "mentioned @vic" not in _client(second_engineer).get(bell).content.decode()
    refused = _client(second_engineer).post(done, {"note": ""}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    mention.refresh_from_db()
    assert mention.status != Reminder.Status.ACKNOWLEDGED

    assert _client(viewer).post(done, {"note": "seen"}, HTTP_HX_REQUEST="true").status_code == 200
    mention.refresh_from_db()
    assert mention.status == Reminder.Status.ACKNOWLEDGED
