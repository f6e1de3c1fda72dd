"""While Redis cannot be reached: changes are saved and answered as saved.

Redis holds the cache (rendered HTML), the channel layer (live updates) and
the Celery broker; the database holds the truth. A failure after commit is
logged, never turned into an error for a change that was stored (issue 13:
notes saved, answered 500, retried, stored twice).
"""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from deploychecks.gonogo.models import Reading
from deploychecks.gonogo.services import record_reading
from deploychecks.runs.models import ItemNote, RunItem
from deploychecks.runs.services import set_item_state

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_audit_log_after_test(purge_audit_events):
    """These tests commit for real (what runs after commit is the point)."""


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def logged(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_tick_while_redis_is_down_is_saved_and_answered_200(
    cache_down, channel_layer_down, deployment, engineer, first_item, caplog
):
    caplog.set_level(logging.WARNING)

    response = logged_in(engineer).post(
        reverse("runs:item_state", args=[deployment.pk, first_item.pk]),
        {"state": "done", "version": first_item.version},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert f'id="item-{first_item.pk}"' in response.content.decode()
    first_item.refresh_from_db()
    assert first_item.state == RunItem.State.DONE
    assert any("going on without the cache" in m for m in logged(caplog, "deploychecks.cache"))


def test_a_note_while_redis_is_down_is_stored_once_and_answered_200(
    cache_down, channel_layer_down, deployment, engineer, first_item
):
    response = logged_in(engineer).post(
        reverse("runs:add_note", args=[deployment.pk, first_item.pk]),
        {"body": "Smoke tests green", "kind": "note"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "Smoke tests green" in response.content.decode()
    assert ItemNote.objects.filter(item=first_item).count() == 1


def test_the_run_page_renders_from_the_database_while_the_cache_is_down(
    cache_down, deployment, engineer
):
    response = logged_in(engineer).get(deployment.get_absolute_url())

    assert response.status_code == 200
    assert response.content.decode().count('class="run-item') == 89


def test_a_broadcast_that_fails_after_commit_is_logged_not_raised(
    channel_layer_down, deployment, engineer, first_item, caplog
):
    """Outside a request (a Celery task, a management command) a broadcast is
    sent at once and its failure used to come out of the service."""
    change = set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=first_item.version,
        user=engineer,
    )

    assert change.changed
    first_item.refresh_from_db()
    assert first_item.state == RunItem.State.DONE
    failures = logged(caplog, "deploychecks.commit")
    assert failures == [
        f"after commit: broadcast to deployment {deployment.pk} failed (the change itself is saved)"
    ]


def test_a_reading_whose_panel_broadcast_fails_is_still_recorded(
    channel_layer_down, live_deployment, engineer, caplog
):
    reading = record_reading(
        deployment_id=live_deployment.pk, signal_name="Error rate", value="0.1", user=engineer
    )

    assert Reading.objects.get() == reading
    assert any("signals panel" in m for m in logged(caplog, "deploychecks.commit"))
