"""schemathesis against the live server's OpenAPI document, with a token: no 5xx,
no response that breaks the schema (every check it has).

Its own server, with a 2 s limit on the gate's long poll, so that a generated
`wait` cannot hold the run for ten minutes. A minute or so here.
"""

import subprocess
import sys

import pytest

from deploychecks.api.models import ApiToken
from deploychecks.runs.services import create_deployment
from tests.api.conftest import personal
from tests.api.live import small_template, start_server
from tests.conftest import ARTIFACTS, may_start_deployments

pytestmark = pytest.mark.usefixtures("purge_audit_events")
EXAMPLES = 30


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    transactional_db, django_db_setup, lead, engineer
):
    may_start_deployments(lead)
    revision = small_template()
    for n in range(3):
        create_deployment(
            revision,
            user=lead,
            release_name=f"Shop {n}",
            version=f"1.{n}.0",
            service="shop",
            lead=lead,
            engineers=[engineer],
        )
    secret = personal(lead)
    # Tokens keep the limit they were made with; this one is for a fuzzer.
    ApiToken.objects.filter(user=lead).update(rate_limit=1_000_000)
    server, url, log = start_server(
        {"API_GATE_WAIT_MAX_SECONDS": "2"},
        "uvicorn-schemathesis.log",
    )
    try:
        result = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/v1/openapi.json",
                "--header", f"Authorization: Bearer {secret}",
                "--checks", "all",
                # "Valid data must be accepted" cannot hold for rules the schema
                # cannot state (a lead must be an engineer, N/A needs a reason,
                # the template must exist): those are 400/404/409 refusals.
                "--exclude-checks", "positive_data_acceptance",
                "--max-examples", str(EXAMPLES),
                "--seed", "15",
                "--request-timeout", "10",
                "--report", "junit",
                "--report-dir", str(ARTIFACTS / "schemathesis"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    (ARTIFACTS / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
