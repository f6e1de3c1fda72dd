"""While PostgreSQL cannot be reached: 503 within 2 s, and normal again soon after.

The outage is a pool pointed at a closed port (tests/core/conftest.py), so the
shared database is never stopped; bench/faults.py kills a private one.
"""

import time

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse

from deploychecks.core import database
from deploychecks.core.database import guard
from deploychecks.runs.models import ItemNote
from tests.core.conftest import wait_for


def logged_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def timed(call):
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def test_a_page_asked_for_while_the_database_is_down_is_a_503_within_2_s(database_outage, engineer):
    client = logged_in(engineer)
    database_outage.cut()

    response, seconds = timed(lambda: client.get("/deployments/"))

    assert response.status_code == 503
    assert seconds < 2.0
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    # The site's layout and stylesheet, and a message that says what to do.
    assert '<header class="topbar">' in html and "css/app.css" in html
    assert "Deploychecks is temporarily unavailable" in html
    assert "Try again in a few seconds" in html


def test_once_the_database_is_known_down_requests_are_answered_at_once(database_outage, engineer):
    client = logged_in(engineer)
    database_outage.cut()
    client.get("/deployments/")  # finds out (the pool's timeout)
    assert wait_for(lambda: guard.down, 2), "the probe should have found the database down"

    page, page_seconds = timed(lambda: client.get("/deployments/1/"))
    tick, tick_seconds = timed(
        lambda: client.post(
            "/deployments/1/items/1/state/", {"state": "done"}, HTTP_HX_REQUEST="true"
        )
    )

    assert (page.status_code, tick.status_code) == (503, 503)
    assert page_seconds < 0.2 and tick_seconds < 0.2
    # htmx gets only the notice (static/js/app.js shows it), not a whole page.
    notice = tick.content.decode()
    assert 'role="alert"' in notice and "<html" not in notice


def test_the_app_serves_normally_soon_after_the_database_is_back(database_outage, engineer):
    client = logged_in(engineer)
    database_outage.cut()
    client.get("/deployments/")
    assert wait_for(lambda: guard.down, 2)

    database_outage.restore()
    back = time.monotonic()
    assert wait_for(lambda: client.get("/deployments/").status_code == 200, 5)

    assert time.monotonic() - back < 5
    assert not guard.down


def test_healthz_names_the_database_when_it_is_down(database_outage, fresh_channel_layers):
    database_outage.cut()

    response, seconds = timed(lambda: Client().get("/healthz"))

    body = response.json()
    assert response.status_code == 503
    assert body["down"] == ["database"]
    assert body["checks"]["database"].startswith("down: ")
    assert body["checks"]["cache"] == body["checks"]["channel_layer"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert seconds < 3


def test_a_change_saved_just_before_the_database_went_away_is_answered_as_saved(
    database_outage, deployment, engineer, first_item, purge_audit_events
):
    """The note commits; the database goes away before the answer is rendered.
    The answer must not say "try again" (a retry would be a duplicate without
    its key): 200, saying it was saved, and no swap."""
    client = logged_in(engineer)

    def lose_the_database_after_commit(sender, instance, created, **kwargs):
        def lose():
            database_outage.cut(close_connections=False)
            connection.connection.close()  # this request's own connection dies too

        transaction.on_commit(lose)

    post_save.connect(lose_the_database_after_commit, sender=ItemNote)
    try:
        response = client.post(
            reverse("runs:add_note", args=[deployment.pk, first_item.pk]),
            {"body": "Rolled to 50 %", "kind": "note"},
            HTTP_HX_REQUEST="true",
        )
    finally:
        post_save.disconnect(lose_the_database_after_commit, sender=ItemNote)

    assert response.status_code == 200
    assert (response["X-Unavailable"], response["HX-Reswap"]) == ("saved", "none")
    assert "Your change was saved" in response.content.decode()
    database_outage.restore()
    assert list(ItemNote.objects.values_list("body", flat=True)) == ["Rolled to 50 %"]


@pytest.mark.django_db
def test_a_query_the_database_refuses_is_not_an_outage():
    """A statement timeout (or a deadlock) is an OperationalError too, but the
    database answered: that stays a 500, not a "try again" 503."""
    with (
        pytest.raises(OperationalError) as refused,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 1")
        cursor.execute("SELECT pg_sleep(1)")

    assert not database.is_unavailable(refused.value)
