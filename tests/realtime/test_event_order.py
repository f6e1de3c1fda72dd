"""Run events reach the sockets in seq order, whatever order they were sent in (issue 13).

Two changes take consecutive seqs under the deployment's lock but send after
commit, from their own threads or processes: the later one can reach Redis
first. A page takes that as a gap and refetches its checklist.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

from deploychecks.realtime.broadcast import run_event, send_to_deployment
from deploychecks.realtime.hub import HOLD_SECONDS, InOrder
from tests.sockets import browser_headers, messages_until_quiet, next_message, open_socket


def event(seq: int, resync: bool = False) -> dict:
    return run_event(seq=seq, kind="item", allowed=[1], html_read=f"<p>{seq}</p>", resync=resync)


def seqs(messages) -> list[int]:
    return [m["seq"] for m in messages]


def test_in_order_events_leave_at_once():
    order = InOrder()
    assert seqs(order.push(event(5), 0.0)) == [5]
    assert seqs(order.push(event(6), 0.0)) == [6]
    assert order.deadline() is None


def test_the_first_event_waits_too_when_the_hub_knows_the_seq():
    order = InOrder(seq=4)
    assert order.push(event(6), 0.0) == []
    assert seqs(order.push(event(5), 0.0)) == [5, 6]


def test_an_early_event_waits_for_the_one_before_it():
    order = InOrder()
    order.push(event(5), 0.0)
    assert order.push(event(7), 0.01) == []
    assert order.push(event(8), 0.02) == []
    assert seqs(order.push(event(6), 0.03)) == [6, 7, 8]
    assert order.deadline() is None


def test_a_seq_that_never_comes_lets_the_waiting_ones_go_after_the_hold():
    order = InOrder(hold=0.25)
    order.push(event(5), 0.0)
    order.push(event(7), 1.0)
    order.push(event(9), 1.1)
    assert order.deadline() == pytest.approx(1.25)
    assert order.expire(1.2) == []
    assert seqs(order.expire(1.25)) == [7, 9]
    # ... and the missing one, if it still comes, is late: the pages drop it.
    assert seqs(order.push(event(6), 1.3)) == [6]
    assert seqs(order.push(event(10), 1.3)) == [10]


def test_a_resync_event_and_messages_without_seq_never_wait():
    order = InOrder()
    order.push(event(5), 0.0)
    assert order.push(event(8), 0.0) == []
    presence = {"type": "presence.changed"}
    assert order.push(presence, 0.0) == [presence]
    # A resync (status change) carries the deployment's latest seq: what waited
    # before it goes first, then the resync.
    assert seqs(order.push(event(10, resync=True), 0.0)) == [8, 10]
    assert seqs(order.push(event(11), 0.0)) == [11]


@pytest.mark.django_db(transaction=True)
def test_events_sent_out_of_order_reach_the_socket_in_order(deployment, lead):
    """Through Redis and the process's hub, as two racing ticks would send them."""
    watcher = browser_headers(lead)
    first = deployment.seq + 1

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await messages_until_quiet(socket)  # its own arrival's presence notice
        layer = get_channel_layer()
        group = f"deployment-{deployment.pk}"
        # From the very first event on: the hub starts from the seq its first
        # socket read when it connected.
        for seq in (first + 1, first + 2, first):
            await layer.group_send(group, event(seq) | {"allowed": [lead.pk]})
        received = await messages_until_quiet(socket, quiet=2 * HOLD_SECONDS)
        await socket.disconnect()
        return received

    received = async_to_sync(scenario)()

    assert seqs(received) == [first, first + 1, first + 2]


@pytest.mark.django_db(transaction=True)
def test_a_missing_event_holds_the_next_ones_only_briefly(deployment, lead):
    watcher = browser_headers(lead)
    first = deployment.seq + 1

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await messages_until_quiet(socket)
        await sync_to_async(send_to_deployment)(
            deployment.pk, event(first) | {"allowed": [lead.pk]}
        )
        await next_message(socket)
        # first + 1 never comes (say its broadcast failed).
        await sync_to_async(send_to_deployment)(
            deployment.pk, event(first + 2) | {"allowed": [lead.pk]}
        )
        late = await next_message(socket, timeout=5)
        await socket.disconnect()
        return late

    late = async_to_sync(scenario)()

    assert late["seq"] == first + 2
