"""Idle timeout, absolute lifetime and cookie flags of sessions."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deploychecks.accounts.sessions import LOGIN_AT_KEY, RENEWED_AT_KEY
from tests.sockets import connect_code

pytestmark = pytest.mark.django_db


def _age_session(client, seconds):
    session = client.session
    session[LOGIN_AT_KEY] = int(time.time()) - seconds
    session.save()


def test_idle_timeout_defaults_to_12_hours_renewed_once_a_minute(engineer):
    client = Client()
    client.force_login(engineer)
    key = client.session.session_key

    # Just logged in: renewed a moment ago, so nothing is written.
    quiet = client.get(reverse("history:list"))
    expiry_before = Session.objects.get(session_key=key).expire_date
    session = client.session
    session[RENEWED_AT_KEY] = int(time.time()) - settings.SESSION_RENEW_SECONDS
    session.save()
    Session.objects.filter(session_key=key).update(expire_date=expiry_before - timedelta(hours=1))
    renewed = client.get(reverse("history:list"))

    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_COOKIE_NAME not in quiet.cookies
    cookie = renewed.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 12 * 3600
    assert cookie["httponly"] is True
    expiry_after = Session.objects.get(session_key=key).expire_date
    assert expiry_after >= expiry_before
    assert abs((expiry_after - timezone.now()).total_seconds() - 12 * 3600) < 60


def test_session_within_its_absolute_lifetime_works(engineer):
    client = Client()
    client.force_login(engineer)
    _age_session(client, settings.SESSION_ABSOLUTE_SECONDS - 60)

    assert client.get(reverse("history:list")).status_code == 200


def test_session_past_its_absolute_lifetime_is_logged_out(engineer):
    client = Client()
    client.force_login(engineer)
    _age_session(client, settings.SESSION_ABSOLUTE_SECONDS + 1)

    response = client.get(reverse("history:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("history:list")).status_code == 302


def test_absolute_lifetime_defaults_to_72_hours():
    assert settings.SESSION_ABSOLUTE_SECONDS == 72 * 3600


@pytest.mark.django_db(transaction=True)
def test_expired_session_cannot_open_a_websocket(deployment, engineer, purge_audit_events):
    client = Client()
    client.force_login(engineer)
    fresh = connect_code(deployment.pk, client)
    _age_session(client, settings.SESSION_ABSOLUTE_SECONDS + 1)

    expired = connect_code(deployment.pk, client)

    assert fresh is None  # accepted
    assert expired == 4401
