"""What a change sends to the sockets of a deployment, and when."""

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections, transaction

from deploychecks.audit.models import AuditEvent
from deploychecks.runs import services
from deploychecks.runs.models import RunItem
from tests.realtime.changes import add_note, check_subcheck, tick
from tests.sockets import (
    browser_headers,
    messages_until_quiet,
    next_message,
    open_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def item_checkbox(html: str, item) -> str:
    return re.search(rf'<input type="checkbox" id="item-{item.pk}-check"[^>]*>', html).group(0)


def test_tick_reaches_another_participant_as_an_item_event(
    deployment, first_item, engineer, second_engineer
):
    colleague = browser_headers(second_engineer)

    async def scenario():
        socket = await open_socket(deployment.pk, colleague)
        change = await sync_to_async(tick)(deployment, first_item, engineer)
        event = await next_message(socket)
        await socket.disconnect()
        return change, event

    change, event = async_to_sync(scenario)()

    assert event["type"] == "event"
    assert event["kind"] == "item"
    assert event["seq"] == change.seq
    assert f'id="item-{first_item.pk}"' in event["html"]
    assert "state-done" in event["html"]
    assert "disabled" not in item_checkbox(event["html"], first_item)


def test_viewer_receives_the_read_only_fragment(deployment, first_item, engineer, viewer):
    watcher = browser_headers(viewer)

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await sync_to_async(tick)(deployment, first_item, engineer)
        event = await next_message(socket)
        await socket.disconnect()
        return event

    event = async_to_sync(scenario)()

    assert "state-done" in event["html"]
    assert "disabled" in item_checkbox(event["html"], first_item)
    assert "Add note" not in event["html"]


def test_rolled_back_change_never_reaches_the_socket(deployment, first_item, engineer, lead):
    watcher = browser_headers(lead)
    seq_before = deployment.seq

    def tick_then_fail():
        with pytest.raises(Boom), transaction.atomic():
            tick(deployment, first_item, engineer)
            raise Boom
        return RunItem.objects.get(pk=first_item.pk)

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        item = await sync_to_async(tick_then_fail)()
        after_rollback = await messages_until_quiet(socket)
        # A committed change right after shows the socket was listening all along.
        await sync_to_async(tick)(deployment, first_item, engineer)
        after_commit = await next_message(socket)
        await socket.disconnect()
        return item, after_rollback, after_commit

    item, after_rollback, after_commit = async_to_sync(scenario)()

    assert after_rollback == []
    assert (item.state, item.version, item.changed_by) == ("open", first_item.version, None)
    assert after_commit["seq"] == seq_before + 1
    assert AuditEvent.objects.filter(deployment=deployment, seq__gt=seq_before).count() == 1


def test_each_committed_change_takes_the_next_seq_in_audit_order(
    deployment, first_item, first_subcheck, engineer, second_engineer, lead
):
    watcher = browser_headers(lead)
    seq_before = deployment.seq
    changes = [
        lambda: tick(deployment, first_item, engineer),
        lambda: add_note(deployment, first_item, second_engineer, "Canary is green"),
        lambda: check_subcheck(deployment, first_subcheck, engineer),
        lambda: tick(deployment, first_item, lead, state="open"),
        lambda: services.change_status(deployment_id=deployment.pk, to="in_progress", user=lead),
    ]

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        for change in changes:
            await sync_to_async(change)()
        events = [await next_message(socket) for _ in changes]
        extra = await messages_until_quiet(socket)
        await socket.disconnect()
        return events, extra

    events, extra = async_to_sync(scenario)()

    seqs = [event["seq"] for event in events]
    assert seqs == list(range(seq_before + 1, seq_before + 1 + len(changes)))
    assert [event["kind"] for event in events] == ["item", "note", "subcheck", "item", "status"]
    assert extra == []
    audited = AuditEvent.objects.filter(deployment=deployment, seq__gt=seq_before)
    assert list(audited.order_by("pk").values_list("seq", flat=True)) == seqs
    deployment.refresh_from_db()
    assert deployment.seq == seqs[-1]


def test_concurrent_changes_each_arrive_once_with_consecutive_seqs(
    deployment, first_item, engineer, second_engineer, lead
):
    watcher = browser_headers(lead)
    seq_before = deployment.seq
    notes_each = 10

    def write_notes(user):
        try:
            for n in range(notes_each):
                add_note(deployment, first_item, user, f"{user.username} note {n}")
        finally:
            connections.close_all()  # this worker thread's own connection

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await asyncio.gather(
            *(
                sync_to_async(write_notes, thread_sensitive=False)(user)
                for user in (engineer, second_engineer)
            )
        )
        events = [await next_message(socket) for _ in range(2 * notes_each)]
        extra = await messages_until_quiet(socket)
        await socket.disconnect()
        return events, extra

    events, extra = async_to_sync(scenario)()

    # Two writers' after-commit sends may overtake each other on the way to
    # Redis (the hub puts them back in order: test_event_order.py). What must
    # hold here: each committed change arrives once, numbered without gaps or
    # repeats.
    seqs = sorted(event["seq"] for event in events)
    assert seqs == list(range(seq_before + 1, seq_before + 1 + 2 * notes_each))
    assert extra == []
    audited = AuditEvent.objects.filter(deployment=deployment, seq__gt=seq_before)
    assert sorted(audited.values_list("seq", flat=True)) == seqs


def test_idle_socket_keeps_receiving(deployment, first_item, engineer, lead):
    """Longer idle than the blocking read of the Redis layer (5 s) and redis-py's socket timeout."""
    watcher = browser_headers(lead)

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await asyncio.sleep(6)
        change = await sync_to_async(tick)(deployment, first_item, engineer)
        event = await next_message(socket)
        await socket.disconnect()
        return change, event

    change, event = async_to_sync(scenario)()

    assert event["seq"] == change.seq


def test_every_reminder_notice_reaches_every_socket(deployment, engineer, viewer):
    """Notices go through the consumer's database-touching dispatch, which waits
    on sync_to_async: the hub must deliver the second and later ones too (a
    context variable once leaked between deliveries and refused all but the first).

    The loop runs as under uvicorn, not inside async_to_sync, whose executor
    would hide the leak."""
    from deploychecks.reminders import live

    headers = [browser_headers(user) for user in (engineer, viewer)]

    async def scenario():
        sockets = [await open_socket(deployment.pk, each) for each in headers]
        for _ in range(3):
            await sync_to_async(live.send_refresh)(deployment.pk)
        received = [await messages_until_quiet(socket, quiet=1) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        await sync_to_async(connections.close_all)()  # asgiref's single thread's
        return received

    with ThreadPoolExecutor(1) as pool:  # a thread of its own, free of the test's loop
        received = pool.submit(asyncio.run, scenario()).result()

    assert received == [[{"type": "reminders"}] * 3] * 2


def test_broadcasts_held_for_a_request_leave_at_its_end_in_order(
    deployment, first_item, engineer, second_engineer
):
    """HoldBroadcastsMiddleware's block: nothing leaves inside it, everything after."""
    from deploychecks.realtime.broadcast import held_broadcasts

    colleague = browser_headers(second_engineer)
    holder = held_broadcasts()

    def two_changes():
        return [
            tick(deployment, first_item, engineer),
            add_note(deployment, first_item, engineer, "after the tick"),
        ]

    async def scenario():
        socket = await open_socket(deployment.pk, colleague)
        await messages_until_quiet(socket)  # its own arrival's presence notice
        # sync_to_async runs these in one thread, the one the hold belongs to.
        await sync_to_async(holder.__enter__)()
        changes = await sync_to_async(two_changes)()
        during = await messages_until_quiet(socket)
        await sync_to_async(holder.__exit__)(None, None, None)
        events = await messages_until_quiet(socket)
        await socket.disconnect()
        return changes, during, events

    changes, during, events = async_to_sync(scenario)()

    assert during == []
    assert [event["seq"] for event in events] == [change.seq for change in changes]
    assert [event["kind"] for event in events] == ["item", "note"]
