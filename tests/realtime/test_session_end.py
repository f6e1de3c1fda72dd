"""A run page's socket closes within 5 s of its session ending, however it ends.

Through the whole ASGI stack and real Redis: the session cookie opens the
socket, and the session then ends over HTTP (logout, password change), by the
clock (idle, absolute) or by an admin (deactivation).
"""

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deploychecks.accounts.sessions import LOGIN_AT_KEY, RENEWED_AT_KEY
from tests.sockets import client_headers, messages_until_quiet, next_message, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-" + "x" * 12  # make_user's default
NEW_PASSWORD = "a-new-and-long-passphrase-42"
LIMIT = 5.0  # seconds from the session's end to the socket's close
WAIT = 15.0  # how long a test waits before calling the socket stuck
ENDS_IN = 2  # seconds: sessions made to expire by themselves


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def seconds_until_closed(socket) -> tuple[float, dict]:
    started = time.monotonic()
    message = await next_message(socket, timeout=WAIT)
    return time.monotonic() - started, message


async def stays_open(socket, seconds: float = 1.0) -> bool:
    """No close for `seconds` (presence pings from the other sockets aside)."""
    messages = await messages_until_quiet(socket, quiet=seconds)
    return all(message["type"] != "closed" for message in messages)


def test_logout_in_another_tab_closes_the_socket_of_that_session(deployment, engineer):
    tab, other_browser = logged_in(engineer), logged_in(engineer)

    async def scenario():
        socket = await open_socket(deployment.pk, client_headers(tab))
        other = await open_socket(deployment.pk, client_headers(other_browser))
        await sync_to_async(tab.post)(reverse("logout"))
        closed = await seconds_until_closed(socket)
        other_open = await stays_open(other)
        await other.disconnect()
        return closed, other_open

    (elapsed, message), other_open = async_to_sync(scenario)()

    assert message == {"type": "closed", "code": 4401}
    assert elapsed < LIMIT
    assert other_open  # the same user's other session goes on


def test_password_change_closes_the_sockets_of_the_users_other_sessions(deployment, engineer):
    changing, other_browser = logged_in(engineer), logged_in(engineer)

    async def scenario():
        other = await open_socket(deployment.pk, client_headers(other_browser))
        response = await sync_to_async(changing.post)(
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        closed = await seconds_until_closed(other)
        # Django keeps the changing session (under a new key): its page reconnects.
        kept = await open_socket(deployment.pk, client_headers(changing))
        kept_open = await stays_open(kept)
        await kept.disconnect()
        return response.status_code, closed, kept_open

    status, (elapsed, message), kept_open = async_to_sync(scenario)()

    assert status == 302
    assert message == {"type": "closed", "code": 4401}
    assert elapsed < LIMIT
    assert kept_open


def test_deactivating_the_user_closes_their_socket(deployment, engineer, lead):
    engineer_browser, lead_browser = logged_in(engineer), logged_in(lead)

    def deactivate():
        engineer.is_active = False
        engineer.save()

    async def scenario():
        socket = await open_socket(deployment.pk, client_headers(engineer_browser))
        lead_socket = await open_socket(deployment.pk, client_headers(lead_browser))
        await sync_to_async(deactivate)()
        closed = await seconds_until_closed(socket)
        lead_open = await stays_open(lead_socket)
        await lead_socket.disconnect()
        return closed, lead_open

    (elapsed, message), lead_open = async_to_sync(scenario)()

    assert message == {"type": "closed", "code": 4401}
    assert elapsed < LIMIT
    assert lead_open


def test_an_unrelated_change_to_the_user_keeps_the_socket_open(deployment, engineer):
    browser = logged_in(engineer)

    def rename():
        engineer.first_name = "Erin"
        engineer.save()

    async def scenario():
        socket = await open_socket(deployment.pk, client_headers(browser))
        await sync_to_async(rename)()
        still_open = await stays_open(socket, 2.0)
        await socket.disconnect()
        return still_open

    assert async_to_sync(scenario)()


def _end_session_in(client, seconds: int, *, stamp: str) -> float:
    """Make the client's session end `seconds` from now, by the idle timeout
    (stamp RENEWED_AT_KEY) or the absolute lifetime (LOGIN_AT_KEY). Returns
    the moment it ends (time.time())."""
    ends_at = int(time.time()) + seconds
    session = client.session
    if stamp == RENEWED_AT_KEY:
        session[RENEWED_AT_KEY] = ends_at - settings.SESSION_COOKIE_AGE
    else:
        session[LOGIN_AT_KEY] = ends_at - settings.SESSION_ABSOLUTE_SECONDS
    session.save()
    if stamp == RENEWED_AT_KEY:
        # What a session last renewed that long ago has in the database.
        Session.objects.filter(session_key=session.session_key).update(
            expire_date=timezone.now() + timedelta(seconds=ends_at - time.time())
        )
    return ends_at


@pytest.mark.parametrize("stamp", [RENEWED_AT_KEY, LOGIN_AT_KEY], ids=["idle", "absolute"])
def test_expiry_closes_the_socket_with_no_request_at_all(deployment, engineer, stamp):
    browser = logged_in(engineer)
    ends_at = _end_session_in(browser, ENDS_IN, stamp=stamp)

    async def scenario():
        socket = await open_socket(deployment.pk, client_headers(browser))
        _, message = await seconds_until_closed(socket)
        return message, time.time()

    message, closed_at = async_to_sync(scenario)()

    assert message == {"type": "closed", "code": 4401}
    assert ends_at <= closed_at < ends_at + LIMIT
