"""`manage.py check --deploy` passes with production settings, and means it."""

import json
import os
import secrets
import subprocess
import sys

from tests.conftest import REPO

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECURE_COOKIES": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_PRELOAD": "true",
    "DATABASE_URL": "postgres://deploychecks@db.internal:5432/deploychecks",
    "REDIS_URL": "redis://redis.internal:6379/0",
}
SETTINGS = (
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_AGE",
    "SESSION_ABSOLUTE_SECONDS",
)
# Run the deploy checks, then print the settings that matter, in one process.
SCRIPT = f"""
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("check", deploy=True, fail_level="WARNING")
print(json.dumps({{name: getattr(settings, name) for name in {SETTINGS!r}}}))
"""


def _run(**overrides):
    # Not DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it in this process, and
    # the deploy check rightly refuses it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        PRODUCTION_ENV,
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="deploychecks.settings",
        **overrides,
    )
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_deploy_check_passes_with_production_settings():
    result = _run()

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_HSTS_SECONDS"] == 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SESSION_COOKIE_AGE"] == 12 * 3600
    assert values["SESSION_ABSOLUTE_SECONDS"] == 72 * 3600


def test_deploy_check_fails_when_a_protection_is_off():
    result = _run(SECURE_COOKIES="false")

    assert result.returncode != 0
    assert "security.W012" in result.stderr  # SESSION_COOKIE_SECURE


def test_a_bad_session_length_stops_start_up_naming_the_variable():
    result = _run(SESSION_IDLE_HOURS="twelve")

    assert result.returncode != 0
    assert "SESSION_IDLE_HOURS must be an integer" in result.stderr
