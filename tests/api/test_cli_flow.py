"""The CLI through a whole deployment against the live server, with a person in
Chromium: create; CI ticks two items with evidence; `gate wait` blocks while an
item is open; the person ticks the rest and `gate wait` exits 0 within a second;
sign-offs stay human."""

import time

import pytest
from playwright.sync_api import expect

from deploychecks.runs.models import Deployment
from tests.api.conftest import service
from tests.api.live import GITHUB, cli, cli_env, cli_in_background, small_template
from tests.browser.fixtures import screenshot
from tests.conftest import may_start_deployments

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("purge_audit_events")]


def test_a_pipeline_and_a_person_take_a_deployment_live(
    transactional_db, live_server_url, open_as, admin_user, lead
):
    may_start_deployments(lead)
    small_template()
    _, secret = service(admin_user, services=("shop",), scopes=["read", "tick", "transition"])
    env = cli_env(live_server_url, secret, **GITHUB)

    created = cli(
        "deployments", "create", "--template", "API test checklist", "--service", "shop",
        "--version", "1.2.0", "--lead", "lena", "--quiet", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    deployment = Deployment.objects.get(pk=int(created.stdout.strip()))
    env["DEPLOYCHECKS_DEPLOYMENT"] = str(deployment.pk)
    assert cli("status", "set", "--to", "in_progress", env=env).returncode == 0
    for key in ("tests", "security-scan-clean"):
        ticked = cli(
            "items", "tick", "--key", key, "--evidence-url", f"https://ci.example.com/1234/{key}",
            env=env,
        )  # fmt: skip
        assert ticked.returncode == 0, ticked.stderr
        assert ticked.stdout.strip() == f"{key}: ticked"

    waiting = cli_in_background("gate", "wait", "--for", "go-live", "--timeout", "120", env=env)
    page = open_as(lead, deployment.get_absolute_url())
    expect(page.locator("#run[data-ws=open][data-synced]")).to_have_count(1, timeout=10_000)
    tests_row = page.locator(f"#item-{deployment.items.get(key='tests').pk}")
    expect(tests_row.locator(".provenance")).to_contain_text(
        "by ci-shop · GitHub Actions run 1234 · a1b2c3d · job deploy · evidence"
    )
    run_link = tests_row.locator(".provenance a", has_text="GitHub Actions run 1234")
    expect(run_link).to_have_attribute("href", "https://github.com/acme/shop/actions/runs/1234")

    backup = deployment.items.get(key="database-backup-taken")
    page.locator(f"#item-{backup.pk} input[type=checkbox]").check()
    expect(page.locator(f"#item-{backup.pk}")).to_have_class("run-item state-done", timeout=5_000)
    time.sleep(1.5)
    assert waiting.poll() is None, "gate wait ended while an item was still open"

    last = deployment.items.get(key="change-approved-in-the-change-calendar")
    page.locator(f"#item-{last.pk} input[type=checkbox]").check()
    expect(page.locator(f"#item-{last.pk}")).to_have_class("run-item state-done", timeout=5_000)
    ticked_at = time.monotonic()
    out, err = waiting.communicate(timeout=10)
    exited_after = time.monotonic() - ticked_at
    screenshot(page, "api-cli-flow")
    assert waiting.returncode == 0, err
    assert out.strip() == "gate to go-live is open"
    assert exited_after < 1.0, exited_after

    assert cli("status", "set", "--to", "monitoring", env=env).returncode == 0
    deployment.refresh_from_db()
    assert deployment.status == "monitoring"


def test_sign_offs_stay_human(transactional_db, live_server_url, admin_user, lead, client):
    """No endpoint of the API signs, and the CLI has no command that would."""
    schema = client.get("/api/v1/openapi.json").json()
    assert not [path for path in schema["paths"] if "sign" in path.lower()]
    _, secret = service(admin_user, services=("shop",))
    refused = cli("signoffs", "approve", env=cli_env(live_server_url, secret))
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
