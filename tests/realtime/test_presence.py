"""Who is viewing a deployment right now, as the page's presence fragment shows it."""

import re

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from django.urls import reverse

from tests.sockets import browser_headers, open_socket, presence_ping

pytestmark = pytest.mark.django_db(transaction=True)


def names_viewing(client, deployment) -> list[str]:
    response = client.get(reverse("runs:presence", args=[deployment.pk]))
    assert response.status_code == 200
    return re.findall(r'<bdi class="presence-name">([^<]*)</bdi>', response.content.decode())


def test_presence_lists_everyone_connected_and_drops_who_left(deployment, lead, engineer):
    lead_headers, engineer_headers = browser_headers(lead), browser_headers(engineer)
    page = Client()
    page.force_login(lead)

    async def scenario():
        lead_socket = await open_socket(deployment.pk, lead_headers)
        await presence_ping(lead_socket)
        engineer_socket = await open_socket(deployment.pk, engineer_headers)
        await presence_ping(engineer_socket)
        await presence_ping(lead_socket)  # the engineer's arrival
        while_both = await sync_to_async(names_viewing)(page, deployment)
        await engineer_socket.disconnect()
        await presence_ping(lead_socket)  # the page is told to refresh its list
        after_one_left = await sync_to_async(names_viewing)(page, deployment)
        await lead_socket.disconnect()
        return while_both, after_one_left

    while_both, after_one_left = async_to_sync(scenario)()

    assert sorted(while_both) == ["Lena Lead", "erin"]
    assert after_one_left == ["Lena Lead"]


def test_presence_is_empty_once_everyone_left(deployment, lead):
    headers = browser_headers(lead)
    page = Client()
    page.force_login(lead)

    async def visit():
        socket = await open_socket(deployment.pk, headers)
        await presence_ping(socket)
        await socket.disconnect()

    async_to_sync(visit)()

    assert names_viewing(page, deployment) == []
