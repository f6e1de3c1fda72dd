"""The sign-off panel on the run page and the sign-off form behind it."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from deploychecks.accounts.reauth import REAUTH_SESSION_KEY
from deploychecks.realtime.broadcast import group_name
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.services import checklist_hash
from tests.signoffs.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def _sign_url(deployment, role):
    return reverse("signoffs:sign", args=[deployment.pk, role.pk])


def _post(client, deployment, role, **data):
    # As the panel's form: it carries the hash of the checklist it showed.
    data.setdefault("checklist_hash", checklist_hash(deployment.pk))
    return client.post(
        _sign_url(deployment, role), {"decision": "approve", **data}, HTTP_HX_REQUEST="true"
    )


def test_the_run_page_lists_every_role_with_its_approvers(deployment, viewer, role):
    html = client_for(viewer).get(deployment.get_absolute_url()).content.decode()
    assert 'id="signoff-panel"' in html
    assert html.count('class="signoff-role signoff-pending"') == 4
    assert "Approver: <bdi>Emma Manager</bdi>" in html and "backup: <bdi>Bob Backup</bdi>" in html
    assert "Completing needs a valid approval from Engineering Manager, DevOps Lead" in html
    assert 'class="signoff-form"' not in html  # a viewer gets no form


def test_an_approver_gets_a_form_for_their_own_role_only(deployment, approver, role):
    html = client_for(approver).get(deployment.get_absolute_url()).content.decode()
    assert html.count('class="signoff-form"') == 1
    assert _sign_url(deployment, role("QA Lead")) in html
    assert 'name="password"' in html  # no recent password confirmation
    assert f'name="checklist_hash" value="{checklist_hash(deployment.pk)}"' in html


def test_the_lead_gets_no_form_but_a_link_to_assign_approvers(deployment, lead):
    html = client_for(lead).get(deployment.get_absolute_url()).content.decode()
    assert 'class="signoff-form"' not in html
    assert reverse("signoffs:approvers", args=[deployment.pk]) in html


def test_the_resync_fragment_holds_the_panel(deployment, approver):
    html = client_for(approver).get(reverse("runs:checklist", args=[deployment.pk])).content
    assert b'id="signoff-panel"' in html and b'class="signoff-form"' in html


def test_signing_with_the_password_approves_and_remembers_the_confirmation(
    deployment, approver, role
):
    client = client_for(approver)
    response = _post(
        client,
        deployment,
        role("QA Lead"),
        comment="LGTM",
        password=PASSWORD,
        checklist_hash=checklist_hash(deployment.pk),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('\n<section id="signoff-panel"') or 'id="signoff-panel"' in html
    assert (
        'data-state="approved"' in html and "Approved by <strong><bdi>quinn</bdi></strong>" in html
    )
    assert "LGTM" in html
    assert REAUTH_SESSION_KEY in client.session
    # Within the window no password is asked for again.
    assert 'name="password"' not in html
    assert SignOff.objects.get().comment == "LGTM"


def test_a_wrong_password_is_refused(deployment, approver, role):
    response = _post(
        client_for(approver),
        deployment,
        role("QA Lead"),
        password="nope",
        comment="typed before the password",
    )
    html = response.content.decode()
    assert "That password is not right" in html
    assert "typed before the password" in html  # the draft comes back
    assert not SignOff.objects.exists()


def test_without_a_password_or_recent_confirmation_signing_is_refused(deployment, approver, role):
    html = _post(client_for(approver), deployment, role("QA Lead")).content.decode()
    assert "Confirm your password to sign." in html and 'name="password"' in html
    assert not SignOff.objects.exists()


def test_an_expired_confirmation_asks_for_the_password_again(deployment, approver, role, settings):
    from django.utils import timezone

    client = client_for(approver)
    session = client.session
    session[REAUTH_SESSION_KEY] = timezone.now().timestamp() - settings.REAUTH_WINDOW_SECONDS - 1
    session.save()
    html = _post(client, deployment, role("QA Lead")).content.decode()
    assert "Confirm your password to sign." in html
    assert not SignOff.objects.exists()


def test_the_form_cannot_name_another_signer(deployment, approver, engineer, role):
    response = _post(
        client_for(engineer),
        deployment,
        role("QA Lead"),
        password=PASSWORD,
        signer=approver.pk,
        user=approver.pk,
        signer_id=approver.pk,
    )
    assert "Only the assigned approver or a backup" in response.content.decode()
    assert not SignOff.objects.exists()


def test_a_rejection_without_a_reason_shows_the_error(deployment, approver, role):
    response = _post(
        client_for(approver), deployment, role("QA Lead"), decision="reject", password=PASSWORD
    )
    assert "A rejection needs a reason" in response.content.decode()
    assert not SignOff.objects.exists()


def test_without_htmx_the_form_redirects_with_a_message(deployment, approver, role):
    client = client_for(approver)
    response = client.post(
        _sign_url(deployment, role("QA Lead")),
        {
            "decision": "reject",
            "password": PASSWORD,
            "checklist_hash": checklist_hash(deployment.pk),
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "QA Lead: A rejection needs a reason" in page


def test_an_outsider_gets_404(deployment, outsider, role):
    assert _post(client_for(outsider), deployment, role("QA Lead")).status_code == 404


def test_a_get_changes_nothing(deployment, approver, role):
    assert client_for(approver).get(_sign_url(deployment, role("QA Lead"))).status_code == 405


def test_a_stale_sign_off_shows_sign_again(deployment, approver, engineer, first_item, sign):
    from deploychecks.runs.services import set_item_state

    sign(approver, "QA Lead")
    set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    html = client_for(approver).get(deployment.get_absolute_url()).content.decode()
    assert 'data-state="stale"' in html and "Stale — sign again" in html
    assert f"“{first_item.title}” was ticked by erin" in html
    assert "Sign again as QA Lead" in html


def test_comments_are_inert(deployment, approver, viewer, sign):
    sign(
        approver,
        "QA Lead",
        decision="reject",
        comment="<script>alert(1)</script><img src=x onerror=alert(2)> [x](javascript:alert(3))",
    )
    html = client_for(viewer).get(deployment.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html


def test_a_sign_off_asks_every_page_to_resync_after_commit(
    deployment, approver, sign, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(deployment.pk), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            change = sign(approver, "QA Lead")
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(group_name(deployment.pk), channel)
    assert (message["type"], message["seq"], message["kind"], message["resync"]) == (
        "run.event",
        change.seq,
        "signoff",
        True,
    )
    assert approver.pk in message["allowed"] and deployment.lead_id in message["allowed"]


class FewIterationsPBKDF2(PBKDF2PasswordHasher):
    iterations = 10


def test_confirming_a_password_whose_hash_gets_upgraded_keeps_the_session(
    deployment, approver, role, settings
):
    # MD5 hashes (the test default) are upgraded once PBKDF2 is the preferred hasher.
    settings.PASSWORD_HASHERS = [
        f"{__name__}.FewIterationsPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    client = client_for(approver)
    response = _post(client, deployment, role("QA Lead"), password=PASSWORD)
    assert 'data-state="approved"' in response.content.decode()
    approver.refresh_from_db()
    assert approver.password.startswith("pbkdf2_sha256$10$")
    assert client.get(deployment.get_absolute_url()).status_code == 200  # still signed in
