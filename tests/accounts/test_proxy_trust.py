"""X-Forwarded-For is believed only from TRUSTED_PROXIES (none by default).

The end-to-end tests start the web server exactly as docker-compose.yml (and
the Dockerfile) start it, on the test database, and try the attack: a new
"address" in X-Forwarded-For for every password guess.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from deploychecks.accounts.people import client_ip
from deploychecks.env import envnetworks
from deploychecks.serve import uvicorn_args
from tests.browser.fixtures import _database_url, _free_port
from tests.conftest import ARTIFACTS, REPO

PASSWORD = "pw-" + "x" * 12  # make_user's default
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _request(remote_addr, forwarded_for=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


# --- The rule ------------------------------------------------------------------------


def test_forwarded_for_is_ignored_by_default(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request("127.0.0.1", "198.51.100.7")) == "127.0.0.1"


def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]

    assert client_ip(_request("127.0.0.1", "198.51.100.7")) == "127.0.0.1"


def test_a_trusted_proxy_gives_the_address_it_appended_not_what_the_client_wrote(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    # The client wrote "192.0.2.1"; the outer proxy 10.0.0.3 appended the real
    # peer, 203.0.113.9; the inner 10.0.0.2 appended 10.0.0.3 and connected.
    request = _request("10.0.0.2", "192.0.2.1, 203.0.113.9, 10.0.0.3")

    assert client_ip(request) == "203.0.113.9"


def test_only_trusted_hops_give_the_leftmost(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]

    assert client_ip(_request("10.0.0.2", "10.0.0.7")) == "10.0.0.7"
    assert client_ip(_request("10.0.0.2")) == "10.0.0.2"


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.2, proxy.internal")

    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES: 'proxy.internal'"):
        envnetworks("TRUSTED_PROXIES")


def test_uvicorn_trusts_nobody_without_trusted_proxies(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)

    args = uvicorn_args(["--port", "8000"])

    assert "--no-proxy-headers" in args and "--forwarded-allow-ips" not in args


def test_uvicorn_trusts_exactly_the_trusted_proxies(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "172.18.0.5,10.1.0.0/16")

    args = uvicorn_args([])

    assert args[args.index("--forwarded-allow-ips") + 1] == "172.18.0.5/32,10.1.0.0/16"


def test_proxy_options_cannot_be_passed_around_the_setting():
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        uvicorn_args(["--forwarded-allow-ips=*"])


# --- The server as docker-compose runs it ----------------------------------------------


def _compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _dockerfile_cmd() -> list[str]:
    text = (REPO / "Dockerfile").read_text()
    return json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))


def _compose_web():
    """The web service's command and the environment compose gives it."""
    compose = _compose()
    web = compose["services"]["web"]
    environment = web.get("environment") or compose["x-app"]["environment"]
    return web["command"], environment


def test_the_dockerfile_and_compose_start_the_same_server():
    command, _ = _compose_web()

    assert command == _dockerfile_cmd()


def _serve(command: list[str], trusted_proxies: str | None, log_name: str):
    """Start `command` (host and port replaced) on the test database."""
    port = _free_port()
    argv = list(command)
    argv[0] = sys.executable if argv[0] == "python" else str(Path(sys.executable).parent / argv[0])
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if k != "TRUSTED_PROXIES"}
    env.update(
        DATABASE_URL=_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        EMBEDDED_SCHEDULER="false",
    )
    if trusted_proxies is not None:
        env["TRUSTED_PROXIES"] = trusted_proxies
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115  closed by the caller
    server = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return server, url, log
        except requests.ConnectionError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            log.close()
            raise RuntimeError(f"the server did not start; see {ARTIFACTS}/{log_name}")
        time.sleep(0.2)


def _stop(server, log):
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def _log_in(url, username, password, forwarded_for):
    session = requests.Session()
    page = session.get(url + "/accounts/login/", timeout=10)
    token = CSRF.search(page.text).group(1)
    return session.post(
        url + "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"X-Forwarded-For": forwarded_for, "Referer": url + "/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )


def _lena(make_user):
    """Lena, with a password the server process can check quickly: a PBKDF2 hash
    of few iterations (the tests' MD5 hasher is unknown to the server, and the
    full iteration count costs a second a guess here)."""
    user = make_user("lena")
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "proxy-trust-salt", iterations=1000)
    user.save(update_fields=["password"])
    return user


def _guess_from_twenty_addresses(url):
    statuses = [
        _log_in(url, "lena", "wrong-password", f"198.51.100.{n}").status_code for n in range(20)
    ]
    return statuses, _log_in(url, "lena", PASSWORD, "198.51.100.250").status_code


@pytest.mark.django_db(transaction=True)
def test_spoofed_forwarded_for_does_not_escape_the_login_throttle(make_user):
    _lena(make_user)
    command, environment = _compose_web()
    server, url, log = _serve(
        command, environment.get("TRUSTED_PROXIES"), "uvicorn-proxy-trust.log"
    )
    try:
        statuses, right = _guess_from_twenty_addresses(url)
    finally:
        _stop(server, log)

    assert statuses[:4] == [200] * 4  # the login form again, with its error
    assert set(statuses[4:]) == {429}  # the fifth failure locks out: all from one address
    assert right == 429  # still locked out, even with the right password


@pytest.mark.django_db(transaction=True)
def test_with_the_peer_as_trusted_proxy_the_forwarded_address_counts(make_user):
    _lena(make_user)
    command, _ = _compose_web()
    server, url, log = _serve(command, "127.0.0.1", "uvicorn-proxy-trusted.log")
    try:
        statuses, right = _guess_from_twenty_addresses(url)
        locked = [
            _log_in(url, "lena", "wrong-password", "203.0.113.5").status_code for _ in range(5)
        ]
        after = _log_in(url, "lena", PASSWORD, "203.0.113.5").status_code
    finally:
        _stop(server, log)

    # Twenty addresses behind our proxy: one failure each, none locked out.
    assert statuses == [200] * 20 and right == 302
    # One address: locked out after five failures.
    assert locked == [200] * 4 + [429] and after == 429
