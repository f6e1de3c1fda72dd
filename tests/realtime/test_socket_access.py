"""Who may open a deployment's websocket, and who keeps receiving on it."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from deploychecks.runs import services
from deploychecks.runs.models import Participant
from tests.sockets import (
    TIMEOUT,
    anonymous_headers,
    browser_headers,
    connect_result,
    deployment_socket,
    next_message,
    open_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_socket_is_refused(deployment):
    assert connect_result(deployment.pk, anonymous_headers()) == (False, 4401)


def test_refused_socket_lets_its_consumer_end(deployment):
    """After a refusal the server sends websocket.disconnect; the consumer must then end.

    One that stays behind keeps a channel-layer receive running and holds up a
    graceful shutdown. Ten in a row, because the failure this guards against does
    not happen every time: with redis-py 8 and a socket_timeout on the layer's
    connections, the blocking receive sometimes misses its cancellation.
    """

    async def refuse_ten():
        for _ in range(10):
            socket = deployment_socket(deployment.pk, anonymous_headers())
            assert await socket.connect(timeout=TIMEOUT) == (False, 4401)
            await socket.disconnect()

    async_to_sync(refuse_ten)()


def test_socket_from_a_foreign_origin_is_refused(deployment, engineer):
    headers = browser_headers(engineer, origin=b"http://evil.example")

    connected, _ = connect_result(deployment.pk, headers)

    assert not connected


def test_socket_without_origin_is_refused(deployment, engineer):
    headers = [h for h in browser_headers(engineer) if h[0] != b"origin"]

    connected, _ = connect_result(deployment.pk, headers)

    assert not connected


def test_outsider_cannot_open_the_socket(deployment, outsider):
    assert connect_result(deployment.pk, browser_headers(outsider)) == (False, 4404)


def test_socket_of_a_missing_deployment_is_refused(deployment, engineer):
    assert connect_result(deployment.pk + 1000, browser_headers(engineer)) == (False, 4404)


@pytest.mark.parametrize("member", ["engineer", "viewer"])
def test_participant_can_open_the_socket(request, deployment, member):
    headers = browser_headers(request.getfixturevalue(member))

    assert connect_result(deployment.pk, headers) == (True, None)


def test_removed_viewer_is_closed_on_the_next_broadcast(
    deployment, first_item, engineer, viewer, lead
):
    viewer_headers, lead_headers = browser_headers(viewer), browser_headers(lead)

    async def scenario():
        viewer_socket = await open_socket(deployment.pk, viewer_headers)
        lead_socket = await open_socket(deployment.pk, lead_headers)
        await sync_to_async(Participant.objects.filter(deployment=deployment, user=viewer).delete)()
        change = await sync_to_async(services.set_item_state)(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="done",
            expected_version=first_item.version,
            user=engineer,
        )
        to_viewer = await next_message(viewer_socket)
        to_lead = await next_message(lead_socket)
        await viewer_socket.disconnect()
        await lead_socket.disconnect()
        return change, to_viewer, to_lead

    change, to_viewer, to_lead = async_to_sync(scenario)()

    assert to_viewer == {"type": "closed", "code": 4403}
    assert to_lead["type"] == "event"
    assert to_lead["seq"] == change.seq
