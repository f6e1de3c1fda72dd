"""Script, attribute and URL payloads in everything people type or import.

Each must come out inert: in the pages, in the websocket fragments and in the
Markdown export. `inert.ALL` is every payload in one string.
"""

import json

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.rendering import render_markdown
from deploychecks.checklists.services import load_parsed, save_template
from deploychecks.runs import presence, services, team
from deploychecks.runs.fragments import item_message
from deploychecks.runs.models import Participant
from tests.security.inert import ALL, ATTRIBUTE, IMAGE, SCRIPT, URL, assert_inert

pytestmark = pytest.mark.django_db

# For the short fields (release name, version…).
SHORT = f"{SCRIPT}{ATTRIBUTE}{IMAGE}"
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;"
ESCAPED_ATTRIBUTE = "&quot; onmouseover=&quot;alert(1)"

HOSTILE_MARKDOWN = f"""# Evil {SCRIPT} template

Intro {ALL}

## Overview {ATTRIBUTE}

Notes {ALL}

## Phase one {SCRIPT} (48 hours before)

### Section {ATTRIBUTE}

- [ ] **Item {SCRIPT}** summary {ALL}
  - detail {ALL}
  - more [x]({URL})
  - [ ] sub-check {ALL}
- [ ] **Another {URL}** {IMAGE}

1. **Step {ATTRIBUTE}** (5 min)
   - [ ] **Step item {URL}**

## Contacts and escalation

| Role | Person | Phone | Chat |
|---|---|---|---|
| On call {SCRIPT} | Eve {ATTRIBUTE} | {URL} | @eve{SCRIPT} |

## Approval sign-off

- [ ] **Release {SCRIPT} manager**: signature and date
"""


def _wire_html(message, variant):
    """The HTML a socket receives: the message's fragment for editors or readers."""
    if f"html_{variant}" in message:
        return message[f"html_{variant}"]
    return json.loads(message[f"text_{variant}"])["html"]


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hostile_revision(admin_user):
    return save_template(
        parse_checklist(HOSTILE_MARKDOWN), user=admin_user, source=HOSTILE_MARKDOWN
    )


@pytest.fixture
def villain(make_user):
    """A person whose name is a payload; engineer on the deployment."""
    return make_user("villain", first_name=SCRIPT, last_name=ATTRIBUTE)


@pytest.fixture
def hostile(hostile_revision, lead, viewer, villain):
    """A deployment where every field people type holds every payload."""
    deployment = services.create_deployment(
        hostile_revision,
        user=lead,
        release_name=f"Release {SHORT}",
        version="2.0.0",
        previous_version="1.0.0",
        service=f"svc {SHORT}",
        environment=URL,
        lead=lead,
        engineers=[villain],
        viewers=[viewer],
    )
    # New versions must look like versions (runs.models.validate_version); rows
    # stored before that rule may hold anything, and must still be inert.
    type(deployment).objects.filter(pk=deployment.pk).update(
        version=SCRIPT, previous_version=ATTRIBUTE
    )
    items = list(deployment.items.order_by("phase__position", "position"))
    noted, na = items[0], items[1]
    services.add_item_note(deployment_id=deployment.pk, item_id=noted.pk, body=ALL, user=villain)
    services.add_item_note(
        deployment_id=deployment.pk, item_id=noted.pk, body=ALL, kind="deviation", user=villain
    )
    services.set_item_state(
        deployment_id=deployment.pk,
        item_id=na.pk,
        state="na",
        reason=ALL,
        expected_version=1,
        user=villain,
    )
    team.save_contacts(
        deployment_id=deployment.pk,
        user=lead,
        rows=[{"role": SHORT, "person": SHORT, "phone": URL, "handle": ATTRIBUTE}],
    )
    deployment.refresh_from_db()
    deployment.noted, deployment.na = noted, na
    return deployment


def test_the_hostile_template_parses_with_its_payloads_as_text(hostile_revision):
    parsed = load_parsed(hostile_revision)

    assert SCRIPT in parsed.name
    assert parsed.contacts and SCRIPT in parsed.contacts[0].role


@pytest.mark.parametrize("who", ["lead", "villain", "viewer"])
def test_run_page_is_inert_for_every_role(request, hostile, who):
    response = _client(request.getfixturevalue(who)).get(hostile.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert_inert(html, f"the run page seen by the {who}")
    assert ESCAPED_SCRIPT in html and ESCAPED_ATTRIBUTE in html  # shown, as text


def test_checklist_and_timeline_fragments_are_inert(hostile, lead):
    client = _client(lead)
    for name in ("checklist", "timeline", "presence"):
        response = client.get(reverse(f"runs:{name}", args=[hostile.pk]), HTTP_HX_REQUEST="true")
        assert_inert(response.content.decode(), f"the {name} fragment", fragment=True)


def test_websocket_fragments_are_inert(hostile):
    for item, kind in ((hostile.noted, "note"), (hostile.na, "item")):
        message = item_message(hostile.pk, item.pk, hostile.seq, kind)

        for variant in ("edit", "read"):
            html = _wire_html(message, variant)
            assert_inert(html, f"the {variant} fragment of {kind} on item {item.pk}", fragment=True)
            assert ESCAPED_SCRIPT in html


def test_tick_response_by_a_person_with_a_hostile_name_is_inert(hostile, villain):
    item = hostile.items.order_by("phase__position", "position")[2]

    response = _client(villain).post(
        reverse("runs:item_state", args=[hostile.pk, item.pk]),
        {"state": "done", "version": 1},
        HTTP_HX_REQUEST="true",
    )
    message = item_message(hostile.pk, item.pk, hostile.seq + 1, "item")

    assert response.status_code == 200
    assert_inert(response.content.decode(), "the tick response", fragment=True)
    html = _wire_html(message, "read")
    assert_inert(html, "the tick broadcast", fragment=True)
    assert ESCAPED_SCRIPT in html  # "Done by <name>", escaped


def test_presence_with_a_hostile_name_is_inert(hostile, villain, lead):
    presence.join(hostile.pk, villain, "test-channel-villain")
    try:
        response = _client(lead).get(reverse("runs:presence", args=[hostile.pk]))
    finally:
        presence.leave("test-channel-villain")

    assert_inert(response.content.decode(), "the presence list", fragment=True)
    assert ESCAPED_SCRIPT in response.content.decode()


@pytest.mark.parametrize("who", ["lead", "viewer"])
def test_settings_page_is_inert(request, hostile, who):
    response = _client(request.getfixturevalue(who)).get(
        reverse("runs:settings", args=[hostile.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert_inert(html, f"the settings page seen by the {who}")
    assert ESCAPED_ATTRIBUTE in html


def test_deployment_list_is_inert(hostile, lead):
    html = _client(lead).get(reverse("history:list")).content.decode()

    assert_inert(html, "the deployment list")
    assert ESCAPED_SCRIPT in html


def test_adding_and_removing_a_hostile_participant_is_inert(hostile, lead, make_user):
    guest = make_user("guest", first_name=SCRIPT, last_name=ATTRIBUTE)
    client = _client(lead)

    added = client.post(
        reverse("runs:set_participant", args=[hostile.pk]),
        {"user": guest.pk, "role": "viewer"},
        HTTP_HX_REQUEST="true",
    )
    removed = client.post(
        reverse("runs:remove_participant", args=[hostile.pk, guest.pk]), HTTP_HX_REQUEST="true"
    )

    assert added.status_code == removed.status_code == 200
    assert_inert(added.content.decode(), "the participants fragment", fragment=True)
    assert_inert(removed.content.decode(), "the participants fragment", fragment=True)
    assert not Participant.objects.filter(user=guest).exists()


def test_template_pages_are_inert(hostile_revision, admin_user):
    client = _client(admin_user)
    template_id = hostile_revision.template_id
    pages = {
        "template list": reverse("checklists:list"),
        "template detail": reverse("checklists:detail", args=[template_id]),
        "template edit": reverse("checklists:edit", args=[template_id]),
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert_inert(response.content.decode(), name)


def test_import_preview_of_hostile_markdown_is_inert(admin_user):
    response = _client(admin_user).post(
        reverse("checklists:import"), {"markdown_text": HOSTILE_MARKDOWN, "action": "preview"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert_inert(html, "the import preview")
    assert ESCAPED_SCRIPT in html


def test_markdown_export_is_a_download_that_renders_inert(hostile_revision, admin_user):
    response = _client(admin_user).get(
        reverse("checklists:export", args=[hostile_revision.template_id, hostile_revision.number])
    )

    text = response.content.decode()
    assert response["Content-Type"].startswith("text/markdown")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "<" not in response["Content-Disposition"]
    # The export keeps the text as written (it is Markdown, not HTML) ...
    assert SCRIPT in text
    # ... and wherever it is shown again it is rendered through the sanitiser.
    assert_inert(str(render_markdown(text)), "the export rendered as Markdown", fragment=True)
    reparsed = parse_checklist(text)
    assert reparsed.name == load_parsed(hostile_revision).name
    assert export_markdown(reparsed) == text


def test_markdown_renderer_neutralises_every_payload():
    html = str(render_markdown(ALL))

    assert_inert(html, "rendered Markdown", fragment=True)
    assert 'href="javascript' not in html and 'href="data' not in html
