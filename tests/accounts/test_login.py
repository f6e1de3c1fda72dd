"""Logging in and out, and the login throttle (django-axes)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from deploychecks.accounts.sessions import LOGIN_AT_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def erin(make_user):
    return make_user("erin", password=PASSWORD)


def _login(client, username, password, *, ip="198.51.100.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_page_links_to_password_reset():
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    assert reverse("password_reset") in response.content.decode()


def test_it_logs_in_with_the_right_password_and_stamps_the_session(erin):
    client = Client()

    response = _login(client, "erin", PASSWORD)

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.session[LOGIN_AT_KEY] > 0
    assert client.get(reverse("history:list")).status_code == 200


def test_force_login_still_works_with_the_axes_backend_first(erin):
    client = Client()
    client.force_login(erin)

    assert client.get(reverse("history:list")).status_code == 200
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"


def test_logout_is_post_only_and_ends_the_session(erin):
    client = Client()
    client.force_login(erin)

    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("history:list")).status_code == 302


def test_wrong_password_shows_the_form_again(erin):
    response = _login(Client(), "erin", "wrong")

    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_too_many_failures_lock_the_account_and_say_when_to_retry(erin):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "erin", "wrong").status_code == 200

    response = _login(client, "erin", "wrong")

    html = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed logins" in html
    assert "Try again in 15 minutes, after" in html
    assert response["Retry-After"] == "900"


def test_locked_out_user_cannot_log_in_even_with_the_right_password(erin):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "erin", "wrong")

    response = _login(client, "erin", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_address_so_a_stranger_cannot_lock_a_colleague_out(erin):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "erin", "wrong", ip="203.0.113.66")

    response = _login(Client(), "erin", PASSWORD, ip="198.51.100.7")

    assert response.status_code == 302


def test_lockout_ends_after_the_cooloff(erin, settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), "erin", "wrong")
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timezone.timedelta(seconds=1)
    )

    assert _login(Client(), "erin", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(erin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(Client(), "erin", "wrong")
    assert _login(Client(), "erin", PASSWORD).status_code == 302

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(Client(), "erin", "wrong").status_code == 200
