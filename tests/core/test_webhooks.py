"""The one webhook sender: Standard Webhooks signatures, and no way into the internal network."""

import os
import subprocess
import sys
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from deploychecks.core import webhooks
from tests.conftest import REPO
from tests.webhook_receiver import PUBLIC_ADDRESS, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"text": "Re-run the smoke tests"}'

INTERNAL_URLS = [
    pytest.param("http://127.0.0.1:{port}/hook", "a loopback address", id="127.0.0.1"),
    pytest.param("http://10.1.2.3/hook", "a private address", id="10.x"),
    pytest.param("http://192.168.0.10/hook", "a private address", id="192.168.x"),
    pytest.param("http://172.16.5.4/hook", "a private address", id="172.16.x"),
    pytest.param(
        "http://169.254.169.254/latest/meta-data/", "a cloud metadata address", id="metadata"
    ),
    pytest.param("http://[fd00:ec2::254]/", "a cloud metadata address", id="metadata-v6"),
    pytest.param("http://[::1]:{port}/hook", "a loopback address", id="[::1]"),
    pytest.param("http://localhost:{port}/hook", "localhost (127.0.0.1) is a loopback", id="name"),
    pytest.param("http://[fe80::1]/", "a link-local address", id="link-local-v6"),
    pytest.param("http://[fd12:3456::1]/", "a private address", id="unique-local"),
    pytest.param("http://224.0.0.1/", "a multicast address", id="multicast"),
    pytest.param("http://0.0.0.0:{port}/", "an unspecified address", id="unspecified"),
    pytest.param("http://[::ffff:127.0.0.1]:{port}/", "a loopback address", id="v4-mapped"),
    pytest.param("http://2130706433:{port}/", "(127.0.0.1) is a loopback", id="decimal-ip"),
]


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = 5.0


def _send(url, secret=SECRET, delivery_id="42-reminder"):
    return webhooks.send(url, BODY, secret=secret, delivery_id=delivery_id, user_agent="Test/1")


# --- Signatures ------------------------------------------------------------------------


def test_the_receiver_verifies_both_signatures_and_sees_the_delivery_id(settings, webhook_receiver):
    receiver = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    assert _send(receiver.url) == 200

    [request] = receiver.requests
    assert verify(request, SECRET) == {"text": "Re-run the smoke tests"}
    headers = request["headers"]
    assert headers["webhook-id"] == headers["X-Deploychecks-Delivery"] == "42-reminder"
    assert headers["webhook-signature"].startswith("v1,")
    assert (headers["Content-Type"], headers["User-Agent"]) == ("application/json", "Test/1")
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(request["body"], headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request["body"] + b" ", headers)


def test_a_secret_set_before_the_standard_form_still_signs_both_headers(settings, webhook_receiver):
    receiver = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    _send(receiver.url, secret="an-old-secret")

    assert verify(receiver.requests[0], "an-old-secret") == {"text": "Re-run the smoke tests"}


def test_a_webhook_without_a_secret_is_not_sent(settings, webhook_receiver):
    receiver = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    with pytest.raises(webhooks.WebhookRefused, match="needs a signing secret"):
        _send(receiver.url, secret="")

    assert receiver.requests == []


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "needs a signing secret"),
        ("s3cret", "must be in the Standard Webhooks form"),
        ("whsec_c2hvcnQ=", "must decode to 24 to 64 bytes; it decodes to 5"),
        ("whsec_not base64!", "is not valid base64"),
    ],
)
def test_new_secrets_must_be_in_the_standard_webhooks_form(secret, problem):
    assert problem in webhooks.secret_problem(secret)


def test_a_generated_secret_is_accepted_by_both_sides():
    secret = webhooks.new_secret()

    assert webhooks.secret_problem(secret) is None
    Webhook(secret)  # the receiver's library takes it as is


# --- Which URLs may be set -------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), INTERNAL_URLS)
def test_internal_addresses_are_refused_when_set(url, reason):
    with pytest.raises(webhooks.WebhookRefused, match="WEBHOOK_ALLOWED_HOSTS") as refused:
        webhooks.check_url(url.format(port=8000))

    assert reason in refused.value.message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/x", "must start with https:// or http://"),
        ("file:///etc/passwd", "must start with https:// or http://"),
        ("https:///no-host", "has no host"),
        ("https://user:pw@hooks.example.com/x", "must not contain a user name or password"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
    ],
)
def test_only_http_and_https_urls_without_credentials(network, url, message):
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS])

    with pytest.raises(webhooks.WebhookRefused, match=message):
        webhooks.check_url(url)


def test_a_name_resolving_to_public_addresses_is_accepted(network):
    network.resolve("hooks.example.com", [PUBLIC_ADDRESS, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])

    webhooks.check_url("https://hooks.example.com/T000/B000")

    assert network.lookups == ["hooks.example.com"] and network.refused == []


def test_a_name_with_any_internal_address_is_refused(network):
    network.resolve("mixed.example.com", [PUBLIC_ADDRESS, "10.0.0.7"])

    with pytest.raises(webhooks.WebhookRefused, match=r"mixed.example.com \(10.0.0.7\)"):
        webhooks.check_url("https://mixed.example.com/hook")


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(webhooks.WebhookRefused, match="could not be resolved"):
        webhooks.check_url("https://no-such-host.invalid/hook")


def test_allowed_hosts_are_matched_by_name_not_by_address(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "[::1]", "Receiver.Test"]

    webhooks.check_url("http://127.0.0.1:8000/hook")
    webhooks.check_url("http://[::1]:8000/hook")
    webhooks.check_url("http://receiver.test/hook")  # not even resolved
    with pytest.raises(webhooks.WebhookRefused, match="loopback"):
        webhooks.check_url("http://localhost:8000/hook")


# --- Sending ---------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), INTERNAL_URLS)
def test_internal_addresses_are_refused_at_send_time(network, webhook_receiver, url, reason):
    receiver = webhook_receiver()

    with pytest.raises(webhooks.WebhookRefused, match="WEBHOOK_ALLOWED_HOSTS") as refused:
        _send(url.format(port=receiver.port))

    assert reason in refused.value.message
    assert receiver.requests == [] and network.refused == []


def test_a_dns_answer_that_changes_after_the_check_cannot_reach_loopback(network, webhook_receiver):
    """Rebinding: the name answers a public address first and loopback afterwards. The
    sender connects to the address it checked, so a second lookup never happens."""
    receiver = webhook_receiver()
    network.resolve("rebind.example.com", [PUBLIC_ADDRESS], ["127.0.0.1"])

    with pytest.raises(webhooks.WebhookFailed, match="webhook unreachable"):
        _send(f"http://rebind.example.com:{receiver.port}/hook")

    assert receiver.requests == []
    assert network.refused == [(PUBLIC_ADDRESS, receiver.port)]
    assert network.lookups == ["rebind.example.com"]


def test_an_allowed_name_is_sent_to_what_it_resolves_to(settings, network, webhook_receiver):
    receiver = webhook_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = ["receiver.test"]
    network.resolve("receiver.test", ["127.0.0.1"])

    _send(receiver.url_for("receiver.test"))

    [request] = receiver.requests
    assert request["headers"]["Host"] == f"receiver.test:{receiver.port}"
    verify(request, SECRET)


def test_https_goes_to_the_checked_address_with_the_name_for_tls_and_host(
    settings, monkeypatch, network, webhook_receiver, tls_certificate
):
    receiver = webhook_receiver(tls=tls_certificate)
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.test"]
    network.resolve("hooks.test", ["127.0.0.1"])
    # The receiver's self-signed certificate is the only one trusted here.
    monkeypatch.setenv("SSL_CERT_FILE", tls_certificate[0])

    _send(receiver.url_for("hooks.test"))

    [request] = receiver.requests
    assert receiver.server_names == ["hooks.test"]
    assert request["headers"]["Host"] == f"hooks.test:{receiver.port}"
    verify(request, SECRET)


def test_a_certificate_for_another_name_is_refused(
    settings, monkeypatch, network, webhook_receiver, tls_certificate
):
    receiver = webhook_receiver(tls=tls_certificate)
    settings.WEBHOOK_ALLOWED_HOSTS = ["other.test"]
    network.resolve("other.test", ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", tls_certificate[0])

    with pytest.raises(webhooks.WebhookFailed, match="CERTIFICATE_VERIFY_FAILED"):
        _send(receiver.url_for("other.test"))

    assert receiver.requests == []


def test_redirects_are_not_followed(settings, webhook_receiver):
    target = webhook_receiver()
    redirector = webhook_receiver(redirect_to=target.url)
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    with pytest.raises(webhooks.WebhookFailed, match="HTTP 302 .*redirects are not followed"):
        _send(redirector.url)

    assert len(redirector.requests) == 1 and target.requests == []


def test_an_error_status_is_a_failure(settings, webhook_receiver):
    receiver = webhook_receiver(fail_first=1, status=503)
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]

    with pytest.raises(webhooks.WebhookFailed, match="HTTP 503 from the webhook"):
        _send(receiver.url)


@pytest.mark.parametrize("slowness", ["delay", "trickle"])
def test_the_timeout_setting_bounds_the_whole_request(settings, webhook_receiver, slowness):
    """A receiver that answers late, or one byte at a time, is cut at the timeout."""
    receiver = webhook_receiver(**{slowness: 4.0})
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.REMINDER_WEBHOOK_TIMEOUT_SECONDS = 0.5

    started = time.monotonic()
    with pytest.raises(webhooks.WebhookFailed, match="timed out after 0.5 s"):
        _send(receiver.url)
    elapsed = time.monotonic() - started

    assert 0.45 < elapsed < 1.5
    assert len(receiver.requests) == 1


# --- Start-up --------------------------------------------------------------------------


def _start_up(**env) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REMINDER_WEBHOOK", "WEBHOOK_"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import deploychecks.settings"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_stops_when_the_global_webhook_has_no_secret():
    result = _start_up(REMINDER_WEBHOOK_URL="https://hooks.example.com/T000")

    assert result.returncode != 0
    assert "ImproperlyConfigured: REMINDER_WEBHOOK_URL is set, so REMINDER_WEBHOOK_SECRET" in (
        result.stderr
    )


def test_start_up_stops_when_the_global_webhook_is_an_internal_address():
    result = _start_up(
        REMINDER_WEBHOOK_URL="http://169.254.169.254/x", REMINDER_WEBHOOK_SECRET=SECRET
    )

    assert result.returncode != 0
    assert "REMINDER_WEBHOOK_URL='http://169.254.169.254/x': The webhook host" in result.stderr
    assert "cloud metadata address" in result.stderr


def test_start_up_accepts_a_signed_global_webhook_or_an_allowed_local_one():
    public = _start_up(
        REMINDER_WEBHOOK_URL="https://hooks.example.com/x", REMINDER_WEBHOOK_SECRET=SECRET
    )
    local = _start_up(
        REMINDER_WEBHOOK_URL="http://127.0.0.1:9000/x",
        REMINDER_WEBHOOK_SECRET=SECRET,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
    )

    assert (public.returncode, local.returncode) == (0, 0), public.stderr + local.stderr
