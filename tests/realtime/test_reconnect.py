"""A page that lost its socket catches up from the database, and can tell when it must.

The channel layer is at-most-once: nothing is replayed to a socket that was
away. The page therefore resyncs from GET /deployments/<pk>/checklist/ on every
(re)connect, and again whenever an event's seq is not its last seq + 1 (see
static/js/run.js). These tests hold the server side of that contract.
"""

import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.urls import reverse

from tests.realtime.changes import add_note, check_subcheck, tick
from tests.sockets import (
    browser_headers,
    messages_until_quiet,
    next_message,
    open_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


def resync(client, deployment) -> tuple[int, str]:
    """What the page fetches on reconnect: the checklist and the seq it reflects."""
    response = client.get(reverse("runs:checklist", args=[deployment.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    return int(re.search(r'<div id="checklist" data-seq="(\d+)"', html).group(1)), html


def test_changes_made_while_disconnected_are_all_on_the_resynced_page(
    deployment, first_item, first_subcheck, engineer, second_engineer, lead
):
    headers = browser_headers(lead)
    page = Client()
    page.force_login(lead)

    async def visit_and_drop():
        socket = await open_socket(deployment.pk, headers)
        await socket.disconnect()

    async def reconnect():
        socket = await open_socket(deployment.pk, headers)
        replayed = await messages_until_quiet(socket)
        await socket.disconnect()
        return replayed

    async_to_sync(visit_and_drop)()
    tick(deployment, first_item, engineer)
    add_note(deployment, first_item, second_engineer, "Rollback plan reviewed with DBA")
    check_subcheck(deployment, first_subcheck, engineer)
    replayed = async_to_sync(reconnect)()
    seq, html = resync(page, deployment)

    assert replayed == []  # nothing is replayed: the resync is what catches up
    deployment.refresh_from_db()
    assert seq == deployment.seq
    item_row = re.search(rf'<li id="item-{first_item.pk}" class="run-item ([^"]+)"', html)
    assert item_row.group(1) == "state-done"
    assert "Rollback plan reviewed with DBA" in html
    assert re.search(rf'<input type="checkbox" id="sub-{first_subcheck.pk}-check" checked', html)


def test_first_event_after_a_resync_continues_from_its_seq(deployment, first_item, engineer, lead):
    headers = browser_headers(lead)
    page = Client()
    page.force_login(lead)
    tick(deployment, first_item, engineer)  # missed while away

    async def reconnect_and_resync():
        socket = await open_socket(deployment.pk, headers)
        seq, _ = await sync_to_async(resync)(page, deployment)
        await sync_to_async(tick)(deployment, first_item, engineer, state="open")
        event = await next_message(socket)
        await socket.disconnect()
        return seq, event

    seq, event = async_to_sync(reconnect_and_resync)()

    assert event["type"] == "event"
    assert event["seq"] == seq + 1  # no gap, so the page applies it without another resync
