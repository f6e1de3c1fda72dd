"""Notes as a thread per item: replies, audited edits, tombstones, and who may do what."""

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.runs.models import ItemNote, Participant
from deploychecks.runs.services import add_item_note, delete_item_note, edit_item_note

pytestmark = pytest.mark.django_db


def _client(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _post(client, name, deployment, obj_id, data):
    return client.post(reverse(name, args=[deployment.pk, obj_id]), data, HTTP_HX_REQUEST="true")


def _note(deployment, item, user, body="Canary at 5 %", **extra):
    return add_item_note(
        deployment_id=deployment.pk, item_id=item.pk, body=body, user=user, **extra
    ).obj


def test_a_reply_is_kept_under_the_note_it_answers(deployment, engineer, lead, first_item):
    parent = _note(deployment, first_item, engineer, "Is the canary healthy?")

    response = _post(
        _client(lead),
        "runs:add_note",
        deployment,
        first_item.pk,
        {"body": "Yes, error rate flat.", "reply_to": parent.pk},
    )

    assert response.status_code == 200
    reply = ItemNote.objects.get(body="Yes, error rate flat.")
    assert reply.reply_to_id == parent.pk
    html = response.content.decode()
    # In the thread, the reply comes right after its parent, one level deeper.
    assert html.index(f'id="thread-note-{parent.pk}"') < html.index(f'id="thread-note-{reply.pk}"')
    assert f'id="thread-note-{reply.pk}" class="note note-note note-reply depth-1"' in html
    event = deployment.audit_events.get(action="note.added", after__note_id=reply.pk)
    assert event.after["reply_to"] == parent.pk


def test_a_reply_to_a_note_of_another_item_is_refused(deployment, engineer, first_item):
    other_item = deployment.items.exclude(pk=first_item.pk).order_by("pk").first()
    parent = _note(deployment, other_item, engineer)

    response = _post(
        _client(engineer),
        "runs:add_note",
        deployment,
        first_item.pk,
        {"body": "Wrong thread", "reply_to": parent.pk},
    )

    assert response.status_code == 400
    assert "not on this item" in response.content.decode()
    assert not ItemNote.objects.filter(body="Wrong thread").exists()


def test_an_edit_is_audited_with_what_changed_and_shown_as_edited(deployment, engineer, first_item):
    note = _note(deployment, first_item, engineer, "Canary at 5 %")

    response = _post(
        _client(engineer),
        "runs:edit_note",
        deployment,
        note.pk,
        {"body": "Canary at 10 %", "version": note.version},
    )

    assert response.status_code == 200
    note.refresh_from_db()
    assert (note.body, note.version) == ("Canary at 10 %", 2)
    assert note.edited_at is not None
    html = response.content.decode()
    assert ">Canary at 10 %</bdi>" in html
    assert 'class="note-edited"' in html and ">edited</span>" in html
    event = deployment.audit_events.get(action="note.edited")
    assert event.before == {"body": "Canary at 5 %"}
    assert event.after["body"] == "Canary at 10 %"
    assert event.actor_id == engineer.pk


def test_an_edit_of_a_note_changed_meanwhile_is_refused(deployment, engineer, lead, first_item):
    note = _note(deployment, first_item, engineer)
    edit_item_note(deployment_id=deployment.pk, note_id=note.pk, body="By the lead", user=lead)

    response = _post(
        _client(engineer), "runs:edit_note", deployment, note.pk, {"body": "Mine", "version": 1}
    )

    assert response.status_code == 409
    note.refresh_from_db()
    assert note.body == "By the lead"
    # What the person typed is given back in the edit form.
    assert ">Mine</textarea>" in response.content.decode()


def test_deletion_leaves_a_tombstone_and_the_audit_keeps_the_fact(
    deployment, engineer, lead, first_item
):
    note = _note(deployment, first_item, engineer, "Secret-ish text")
    reply = _note(deployment, first_item, lead, "An answer", reply_to_id=note.pk)

    response = _post(_client(engineer), "runs:delete_note", deployment, note.pk, {})

    assert response.status_code == 200
    note.refresh_from_db()
    assert note.body == "" and note.deleted_at is not None and note.deleted_by_name == "erin"
    page = _client(lead).get(deployment.get_absolute_url()).content.decode()
    assert "Secret-ish text" not in page
    assert "Note deleted by <bdi>erin</bdi>" in page
    assert ">An answer</bdi>" in page  # the reply keeps its place
    assert '1<span class="visually-hidden"> note</span>' in page  # the line counts the reply only
    event = deployment.audit_events.get(action="note.deleted")
    assert event.after == {"note_id": note.pk, "author": "erin"}
    # A tombstone cannot be edited or answered.
    refused = _post(_client(engineer), "runs:edit_note", deployment, note.pk, {"body": "Back"})
    assert refused.status_code == 400
    refused = _post(
        _client(lead),
        "runs:add_note",
        deployment,
        first_item.pk,
        {"body": "To a tombstone", "reply_to": note.pk},
    )
    assert refused.status_code == 400
    assert reply.pk  # still there


def test_only_the_author_or_the_lead_may_edit_or_delete(
    deployment, engineer, second_engineer, lead, viewer, first_item
):
    note = _note(deployment, first_item, engineer, "Erin's note")

    for user in (second_engineer, viewer):
        edit = _post(_client(user), "runs:edit_note", deployment, note.pk, {"body": "Hijacked"})
        delete = _post(_client(user), "runs:delete_note", deployment, note.pk, {})
        assert (edit.status_code, delete.status_code) == (403, 403), user
    assert "Only the author of this note and the deployment lead" in edit.content.decode()
    note.refresh_from_db()
    assert note.body == "Erin's note" and note.deleted_at is None

    lead_edit = _post(_client(lead), "runs:edit_note", deployment, note.pk, {"body": "Lead fix"})
    assert lead_edit.status_code == 200
    note.refresh_from_db()
    assert note.body == "Lead fix"


def test_an_admin_changes_others_notes_only_where_they_work(
    deployment, engineer, second_engineer, viewer, admin_user, first_item
):
    note = _note(deployment, first_item, engineer, "Erin's note")
    as_viewer = Participant.objects.create(deployment=deployment, user=admin_user, role="viewer")

    # Watching (a viewer here; a manager elsewhere): admin rights elsewhere change nothing.
    client = _client(admin_user)
    edit = _post(client, "runs:edit_note", deployment, note.pk, {"body": "Admin fix"})
    delete = _post(client, "runs:delete_note", deployment, note.pk, {})
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert 'data-any-note="1"' not in client.get(deployment.get_absolute_url()).content.decode()
    note.refresh_from_db()
    assert note.body == "Erin's note" and note.deleted_at is None

    # Working on it (an engineer here): the admin may moderate.
    as_viewer.role = "engineer"
    as_viewer.save(update_fields=["role"])
    assert 'data-any-note="1"' in client.get(deployment.get_absolute_url()).content.decode()
    edit = _post(client, "runs:edit_note", deployment, note.pk, {"body": "Admin fix"})
    assert edit.status_code == 200
    note.refresh_from_db()
    assert note.body == "Admin fix"
    # An engineer who is no admin still may not.
    assert 'data-any-note="1"' not in (
        _client(second_engineer).get(deployment.get_absolute_url()).content.decode()
    )


def test_outsider_gets_404_for_notes(deployment, engineer, outsider, first_item):
    note = _note(deployment, first_item, engineer)

    for name in ("runs:edit_note", "runs:delete_note"):
        response = _post(_client(outsider), name, deployment, note.pk, {"body": "x"})
        assert response.status_code == 404
    note.refresh_from_db()
    assert note.body == "Canary at 5 %" and note.deleted_at is None


def test_edit_and_delete_need_a_csrf_token(deployment, engineer, first_item):
    note = _note(deployment, first_item, engineer)
    client = _client(engineer, enforce_csrf_checks=True)

    assert _post(client, "runs:edit_note", deployment, note.pk, {"body": "x"}).status_code == 403
    assert _post(client, "runs:delete_note", deployment, note.pk, {}).status_code == 403
    note.refresh_from_db()
    assert note.version == 1


def test_hostile_text_in_an_edit_stays_inert(deployment, engineer, first_item):
    note = _note(deployment, first_item, engineer)

    _post(
        _client(engineer),
        "runs:edit_note",
        deployment,
        note.pk,
        {"body": "<img src=x onerror=alert(1)> @<b>erin</b>"},
    )

    html = _client(engineer).get(deployment.get_absolute_url()).content.decode()
    assert "<img src=x" not in html and "<b>erin</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_every_viewer_gets_the_edit_live_and_the_page_cache_follows(
    deployment, engineer, lead, first_item
):
    note = _note(deployment, first_item, engineer, "Before")
    client = _client(lead)
    assert ">Before</bdi>" in client.get(deployment.get_absolute_url()).content.decode()

    edit_item_note(deployment_id=deployment.pk, note_id=note.pk, body="After", user=engineer)
    assert ">After</bdi>" in client.get(deployment.get_absolute_url()).content.decode()

    delete_item_note(deployment_id=deployment.pk, note_id=note.pk, user=lead)
    page = client.get(deployment.get_absolute_url()).content.decode()
    assert ">After</bdi>" not in page and "Note deleted by" in page


@pytest.mark.parametrize("reply_to", ["abc", "-1", str(2**70), "0"])
def test_a_bad_reply_to_is_refused_not_a_server_error(deployment, engineer, first_item, reply_to):
    response = _post(
        _client(engineer),
        "runs:add_note",
        deployment,
        first_item.pk,
        {"body": "Odd reply", "reply_to": reply_to},
    )

    assert response.status_code == 400
    assert "not on this item" in response.content.decode()
    assert not ItemNote.objects.filter(body="Odd reply").exists()
