"""A small checklist for tests against the live server, and the CLI as a process."""

import os
import subprocess
import sys

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template

CHECKLIST = """\
# API test checklist

## Before go-live
- [ ] **All tests passing** <!-- key: tests -->
- [ ] **Security scan clean**
- [ ] **Database backup taken**
- [ ] **Change approved in the change calendar**

## After go-live
- [ ] **Smoke tests green**
"""
BEFORE_KEYS = [
    "tests",
    "security-scan-clean",
    "database-backup-taken",
    "change-approved-in-the-change-calendar",
]
GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_RUN_ID": "1234",
    "GITHUB_SHA": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "GITHUB_JOB": "deploy",
}


def small_template():
    return save_template(parse_checklist(CHECKLIST))


def cli_env(url: str, secret: str, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB", "CI_"))}
    return {**env, "DEPLOYCHECKS_URL": url, "DEPLOYCHECKS_TOKEN": secret, **extra}


def cli(*args, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deploychecks.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_in_background(*args, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deploychecks.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_server(extra_env: dict, log_name: str):
    """A uvicorn of our own on the test database (the shared live server's twin),
    for settings the shared one does not have. Returns (process, url, log file)."""
    import time
    import urllib.request

    from django.conf import settings

    from tests.browser.fixtures import _database_url, _free_port
    from tests.conftest import ARTIFACTS, REPO

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMBEDDED_SCHEDULER": "false",
        **extra_env,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115  the caller closes it
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "deploychecks.asgi:application", "--host",
         "127.0.0.1", "--port", str(port), "--lifespan", "on", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server, url, log
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError(f"uvicorn did not start; see {ARTIFACTS}/{log_name}") from None
            time.sleep(0.2)
