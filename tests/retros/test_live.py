"""Open run pages hear of the retrospective opening, under its own sequence number."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from deploychecks.audit.models import AuditEvent
from tests.gates import go_live, override, ready_to_complete
from tests.sockets import browser_headers, messages_until_quiet, open_socket

# Transactional: the broadcast waits for commit; the audit log cannot be truncated.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("purge_audit_events"),
]


def test_a_viewer_hears_of_the_retro_opening_when_the_deployment_completes(
    deployment, lead, viewer
):
    go_live(deployment, lead)
    ready_to_complete(deployment)
    watcher = browser_headers(viewer)

    async def scenario():
        socket = await open_socket(deployment.pk, watcher)
        await sync_to_async(override)(deployment, lead, "completed", "The approvers are away")
        received = await messages_until_quiet(socket, quiet=1.0)
        await socket.disconnect()
        return received

    received = async_to_sync(scenario)()

    opened = AuditEvent.objects.get(deployment=deployment, action="retro.opened")
    events = [m for m in received if m["type"] == "event"]
    assert events, received
    # The page ends at the retro's sequence number, so it is not one behind, and
    # it refetches (the run page's retro link appears).
    assert max(m["seq"] for m in events) == opened.seq
    assert any(m["resync"] for m in events if m["seq"] == opened.seq)
