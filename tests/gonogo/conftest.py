"""Fixtures for go/no-go and rollback: a deployment that is live and monitored."""

import pytest

from deploychecks.runs.services import change_status
from tests.audit.conftest import purge_audit_events  # noqa: F401  shared cleanup
from tests.webhook_receiver import network, webhook_receiver  # noqa: F401


@pytest.fixture
def live_deployment(deployment, lead):
    """The default deployment, started and gone live (monitoring)."""
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    deployment.refresh_from_db()
    return deployment
