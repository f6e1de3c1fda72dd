"""Changing a password, and resetting it by email."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

OLD, NEW = "old-password-123456", "a-new-and-long-passphrase-42"


@pytest.fixture
def erin(make_user):
    return make_user("erin", password=OLD)


def test_it_changes_the_password_and_keeps_this_session(erin):
    client = Client()
    client.force_login(erin)
    other = Client()
    other.force_login(erin)

    response = client.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    erin.refresh_from_db()
    assert erin.check_password(NEW)
    assert client.get(reverse("history:list")).status_code == 200
    # Every other session of the user ends (the session hash changed).
    assert other.get(reverse("history:list")).status_code == 302


def test_it_refuses_a_wrong_old_password(erin):
    client = Client()
    client.force_login(erin)

    response = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    erin.refresh_from_db()
    assert erin.check_password(OLD)


def test_password_change_needs_a_login():
    response = Client().get(reverse("password_change"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_reset_mails_a_link_built_from_site_url_and_the_link_sets_a_password(erin, settings):
    settings.SITE_URL = "https://deploychecks.example.com"
    settings.ALLOWED_HOSTS = ["*"]  # even where any Host header gets through
    client = Client()

    response = client.post(
        reverse("password_reset"), {"email": "erin@example.com"}, HTTP_HOST="evil.example"
    )  # not trusted for the link

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = re.search(r"https://deploychecks\.example\.com(/\S+)", body).group(1)
    assert "evil.example" not in body
    page = client.get(link, follow=True)
    assert page.status_code == 200 and "Choose a new password" in page.content.decode()
    done = client.post(page.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    erin.refresh_from_db()
    assert erin.check_password(NEW)
    # The link works once.
    assert "not valid" in client.get(link, follow=True).content.decode()


def test_reset_for_an_unknown_address_sends_nothing_and_says_the_same(erin):
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_reset_pages_are_open_without_login():
    client = Client()
    assert client.get(reverse("password_reset")).status_code == 200
    assert client.get(reverse("password_reset_done")).status_code == 200
    assert client.get(reverse("password_reset_complete")).status_code == 200
