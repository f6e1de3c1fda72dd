"""The deployment's settings page: the lead assigns participants and edits contacts."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.realtime.broadcast import group_name
from deploychecks.runs import services, team
from deploychecks.runs.models import Participant

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _contacts_post(*rows, initial=0):
    data = {"contacts-TOTAL_FORMS": str(len(rows)), "contacts-INITIAL_FORMS": str(initial)}
    for i, row in enumerate(rows):
        for field, value in row.items():
            data[f"contacts-{i}-{field}"] = value
    return data


@pytest.fixture
def newcomer(make_user):
    return make_user("nico", first_name="Nico", last_name="New")


@pytest.fixture
def listening(deployment):
    """Subscribe to the deployment's group; returns a function giving the next message."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(deployment.pk), channel)
    yield lambda: async_to_sync(layer.receive)(channel)
    async_to_sync(layer.group_discard)(group_name(deployment.pk), channel)


def test_lead_sees_forms_and_everyone_else_reads(deployment, lead, viewer):
    lead_html = _client(lead).get(reverse("runs:settings", args=[deployment.pk])).content.decode()
    viewer_html = (
        _client(viewer).get(reverse("runs:settings", args=[deployment.pk])).content.decode()
    )

    assert 'name="contacts-TOTAL_FORMS"' in lead_html and "Add a person" in lead_html
    assert "<form" not in viewer_html.split('id="main"')[1]
    assert "vic" in viewer_html and "Viewer" in viewer_html
    assert "(only the lead changes this page)" in viewer_html


def test_contacts_are_prefilled_from_the_template(deployment, revision):
    assert deployment.contacts.count() == revision.contacts.count() > 0


def test_lead_adds_a_participant_audited_and_broadcast(
    deployment, lead, newcomer, listening, django_capture_on_commit_callbacks
):
    seq = deployment.seq
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(lead).post(
            reverse("runs:set_participant", args=[deployment.pk]),
            {"user": newcomer.pk, "role": "engineer"},
            HTTP_HX_REQUEST="true",
        )

    assert response.status_code == 200
    assert "Nico New is now engineer." in response.content.decode()
    assert Participant.objects.get(deployment=deployment, user=newcomer).role == "engineer"
    deployment.refresh_from_db()
    assert deployment.seq == seq + 1
    event = AuditEvent.objects.get(deployment=deployment, action="participant.added")
    assert (event.actor, event.seq, event.after) == (
        lead,
        seq + 1,
        {"user": "nico", "role": "engineer"},
    )
    message = listening()
    assert message["seq"] == seq + 1 and message["resync"] is True
    assert newcomer.pk in message["allowed"]


def test_changing_a_role_is_audited_and_setting_the_same_role_changes_nothing(
    deployment, lead, viewer
):
    team.set_participant(deployment_id=deployment.pk, member=viewer, role="engineer", user=lead)
    deployment.refresh_from_db()
    seq = deployment.seq

    again = team.set_participant(
        deployment_id=deployment.pk, member=viewer, role="engineer", user=lead
    )

    event = AuditEvent.objects.get(action="participant.changed")
    assert (event.before, event.after) == ({"role": "viewer"}, {"user": "vic", "role": "engineer"})
    assert again.changed is False
    deployment.refresh_from_db()
    assert deployment.seq == seq


def test_only_the_lead_changes_participants(deployment, engineer, newcomer):
    response = _client(engineer).post(
        reverse("runs:set_participant", args=[deployment.pk]),
        {"user": newcomer.pk, "role": "engineer"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 403
    assert "Only the lead" in response.content.decode()
    with pytest.raises(services.NotAllowed):
        team.set_participant(
            deployment_id=deployment.pk, member=newcomer, role="viewer", user=engineer
        )
    assert not Participant.objects.filter(user=newcomer).exists()


def test_the_lead_cannot_become_a_participant(deployment, lead):
    with pytest.raises(services.RunError, match="already takes part"):
        team.set_participant(deployment_id=deployment.pk, member=lead, role="viewer", user=lead)


def test_removed_participant_loses_access_at_once(
    deployment, lead, viewer, listening, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(lead).post(
            reverse("runs:remove_participant", args=[deployment.pk, viewer.pk])
        )

    assert response.status_code == 302  # without htmx: back to the page, with a message
    assert not Participant.objects.filter(deployment=deployment, user=viewer).exists()
    assert _client(viewer).get(deployment.get_absolute_url()).status_code == 404
    assert viewer.pk not in listening()["allowed"]  # open sockets close (consumer re-check)
    event = AuditEvent.objects.get(action="participant.removed")
    assert event.before == {"user": "vic", "role": "viewer"} and "vic" in event.target_repr


def test_removing_someone_who_is_not_a_participant_is_not_found(deployment, lead, newcomer):
    # Not on this deployment: as a missing object, a 404 (tests/security/test_object_ids.py).
    response = _client(lead).post(
        reverse("runs:remove_participant", args=[deployment.pk, newcomer.pk]),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 404
    assert "No such person on this deployment" in response.content.decode()


def test_lead_edits_adds_and_removes_contacts(deployment, lead):
    first, *others = list(deployment.contacts.order_by("position"))
    rows = [
        {
            "role": first.role,
            "person": "Pat Changed",
            "phone": first.phone,
            "handle": first.handle,
            "DELETE": "",
        }
    ]
    rows += [
        {"role": c.role, "person": c.person, "phone": c.phone, "handle": c.handle, "DELETE": "on"}
        for c in others
    ]
    rows.append(
        {"role": "Incident commander", "person": "Ida", "phone": "+1 555 0100", "handle": "@ida"}
    )

    response = _client(lead).post(
        reverse("runs:save_contacts", args=[deployment.pk]),
        _contacts_post(*rows, initial=len(rows) - 1),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200 and "Contacts saved." in response.content.decode()
    saved = list(deployment.contacts.order_by("position").values_list("role", "person"))
    assert saved == [(first.role, "Pat Changed"), ("Incident commander", "Ida")]
    event = AuditEvent.objects.get(action="contacts.changed")
    assert len(event.before["contacts"]) == 1 + len(others)
    assert event.after["contacts"][1]["handle"] == "@ida"


def test_saving_the_same_contacts_changes_nothing(deployment, lead):
    rows = list(deployment.contacts.order_by("position").values(*team.CONTACT_FIELDS))
    seq = deployment.seq

    change = team.save_contacts(deployment_id=deployment.pk, rows=rows, user=lead)

    deployment.refresh_from_db()
    assert change.changed is False and deployment.seq == seq
    assert not AuditEvent.objects.filter(action="contacts.changed").exists()


def test_a_contact_without_a_role_is_refused(deployment, lead):
    count = deployment.contacts.count()

    response = _client(lead).post(
        reverse("runs:save_contacts", args=[deployment.pk]),
        _contacts_post({"role": "", "person": "Nobody"}),
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    assert "A contact needs a role." in response.content.decode()
    assert deployment.contacts.count() == count


def test_run_page_links_to_the_settings_page(deployment, viewer):
    html = _client(viewer).get(deployment.get_absolute_url()).content.decode()

    assert reverse("runs:settings", args=[deployment.pk]) in html


def test_settings_changes_show_in_the_timeline(deployment, lead, newcomer):
    team.set_participant(deployment_id=deployment.pk, member=newcomer, role="viewer", user=lead)

    html = _client(lead).get(reverse("runs:timeline", args=[deployment.pk])).content.decode()

    assert "added a participant:" in html and "Nico New (nico)" in html
