"""Forms that add a row each time carry an idempotency key: a retry is not a duplicate.

A note, a reading typed by hand and a new deployment are stored again by every
POST. When the answer is lost, or is an error page although the change was
saved, the person sends the same form again; its key (static/js/app.js) makes
the service answer with the first result instead (runs.idempotency).
"""

import threading
import uuid

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from deploychecks.gonogo.models import Reading
from deploychecks.runs.models import Deployment, ItemNote
from deploychecks.runs.services import create_deployment
from tests.conftest import may_start_deployments

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def new_key() -> str:
    return uuid.uuid4().hex


def post_note(client, deployment, item, body: str, key: str | None):
    data = {"body": body, "kind": "note"}
    if key is not None:
        data["idempotency_key"] = key
    return client.post(
        reverse("runs:add_note", args=[deployment.pk, item.pk]), data, HTTP_HX_REQUEST="true"
    )


def test_a_note_sent_again_with_its_key_is_stored_once(deployment, engineer, first_item):
    client, key = logged_in(engineer), new_key()

    first = post_note(client, deployment, first_item, "Canary at 5 %", key)
    again = post_note(client, deployment, first_item, "Canary at 5 %", key)

    assert (first.status_code, again.status_code) == (200, 200)
    assert ItemNote.objects.filter(item=first_item).count() == 1
    # Shown once in the thread (its edit form holds the text too).
    assert again.content.decode().count(">Canary at 5 %</bdi>") == 1
    deployment.refresh_from_db()
    assert deployment.audit_events.filter(action="note.added").count() == 1


def test_notes_with_other_keys_or_without_one_are_each_stored(deployment, engineer, first_item):
    client = logged_in(engineer)

    post_note(client, deployment, first_item, "Same words", new_key())
    post_note(client, deployment, first_item, "Same words", new_key())
    post_note(client, deployment, first_item, "Same words", None)
    post_note(client, deployment, first_item, "Same words", None)

    assert ItemNote.objects.filter(item=first_item).count() == 4


def test_the_key_is_per_person(deployment, engineer, second_engineer, first_item):
    key = new_key()

    post_note(logged_in(engineer), deployment, first_item, "Mine", key)
    post_note(logged_in(second_engineer), deployment, first_item, "Theirs", key)

    assert sorted(ItemNote.objects.values_list("body", flat=True)) == ["Mine", "Theirs"]


def test_a_key_used_for_another_item_or_a_malformed_key_is_refused(
    deployment, engineer, first_item
):
    client, key = logged_in(engineer), new_key()
    other_item = deployment.items.exclude(pk=first_item.pk).first()
    post_note(client, deployment, first_item, "First", key)

    elsewhere = post_note(client, deployment, other_item, "Second", key)
    malformed = post_note(client, deployment, first_item, "Third", "short")

    assert (elsewhere.status_code, malformed.status_code) == (400, 400)
    assert "reload the page" in elsewhere.content.decode()
    assert list(ItemNote.objects.values_list("body", flat=True)) == ["First"]


def test_a_reading_sent_again_with_its_key_is_recorded_once(live_deployment, engineer):
    client, key = logged_in(engineer), new_key()
    data = {"signal": "Error rate", "value": "0.2", "idempotency_key": key}

    first = client.post(
        f"/deployments/{live_deployment.pk}/readings/", data, HTTP_HX_REQUEST="true"
    )
    again = client.post(
        f"/deployments/{live_deployment.pk}/readings/", data, HTTP_HX_REQUEST="true"
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert Reading.objects.count() == 1


def test_the_creation_form_sent_again_opens_the_same_deployment(revision, lead):
    client = logged_in(may_start_deployments(lead))
    data = {
        "revision": revision.pk,
        "release_name": "Autumn",
        "version": "2.1.0",
        "service": "billing",
        "environment": "production",
        "idempotency_key": new_key(),
    }

    first = client.post(reverse("runs:create"), data)
    again = client.post(reverse("runs:create"), data)

    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Deployment.objects.filter(release_name="Autumn").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_creation_posted_twice_at_once_makes_one_deployment(
    revision, lead, purge_audit_events
):
    """No lock serializes two creations: the unique key does. The second waits
    for the first's commit, rolls back, and returns the first's deployment."""
    key, barrier, results = new_key(), threading.Barrier(2), []

    def create():
        barrier.wait()
        try:
            deployment = create_deployment(
                revision,
                user=lead,
                release_name="Twice",
                version="1.0.0",
                service="billing",
                lead=lead,
                idempotency_key=key,
            )
            results.append(deployment.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(results) == 2 and results[0] == results[1]
    assert Deployment.objects.filter(release_name="Twice").count() == 1
