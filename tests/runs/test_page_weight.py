"""The run page of the seed (89 items) is served gzip-compressed when the browser
asks, and stays within 60 KB compressed (issue 16, section 6: Weight)."""

import gzip

import pytest
from django.test import Client

from deploychecks.owners import services as owners
from deploychecks.runs.services import add_item_note, set_item_state
from deploychecks.statusupdates import services as statusupdates

pytestmark = pytest.mark.django_db

BUDGET = 60 * 1024


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _furnish(deployment, lead, engineer):
    """Owners and due times on every item of the first phase, ticks, notes, an update."""
    items = list(deployment.items.order_by("phase__position", "position"))
    for item in items[:15]:
        owners.set_assignment(
            deployment_id=deployment.pk,
            item_id=item.pk,
            owners=f"@{engineer.username} @{lead.username}",
            due="2h after phase start",
            user=lead,
        )
    for item in items[:10]:
        item.refresh_from_db()
        set_item_state(
            deployment_id=deployment.pk,
            item_id=item.pk,
            state="done",
            expected_version=item.version,
            user=engineer,
        )
        add_item_note(
            deployment_id=deployment.pk, item_id=item.pk, body="Checked on staging.", user=engineer
        )
    statusupdates.post_update(
        deployment_id=deployment.pk, user=lead, body="On track.", rag="green", public=False
    )


def _page(user, deployment, **headers):
    response = _client(user).get(deployment.get_absolute_url(), **headers)
    assert response.status_code == 200
    return response


def test_the_run_page_is_gzip_encoded_when_asked(deployment, lead):
    asked = _page(lead, deployment, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert asked["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in asked["Vary"]
    html = gzip.decompress(asked.content).decode()
    assert 'id="checklist-items"' in html

    plain = _page(lead, deployment)  # not asked: not compressed
    assert not plain.has_header("Content-Encoding")
    assert plain.content.decode().count('class="run-item ') == 89


@pytest.mark.parametrize("who", ["lead", "engineer", "viewer"])
def test_the_seed_run_page_is_at_most_60_kb_compressed(deployment, lead, engineer, viewer, who):
    _furnish(deployment, lead, engineer)
    user = {"lead": lead, "engineer": engineer, "viewer": viewer}[who]
    response = _page(user, deployment, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    raw = gzip.decompress(response.content)
    assert raw.decode().count('class="run-item ') == 89
    size = len(response.content)
    kb = f"{len(raw) / 1024:.1f} KB, {size / 1024:.1f} KB gzipped"
    print(f"run page of the seed as the {who}: {kb}")
    assert size <= BUDGET, size
