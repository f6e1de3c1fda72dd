"""Evidence added by one person appears on the other viewers' pages."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from deploychecks.evidence import services
from tests.sockets import browser_headers, next_message, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _own_channel_prefix(private_channel_prefix):
    """This module's sockets use Redis keys no other test run shares."""


@pytest.fixture(autouse=True)
def _empty_audit_log_after_test(purge_audit_events):
    """These tests commit; Django's flush cannot truncate the audit log."""


def test_a_link_reaches_a_viewers_page(small, required_item, engineer, viewer):
    headers = browser_headers(viewer)

    def add():
        return services.add_link(
            deployment_id=small.pk,
            item_id=required_item.pk,
            url="https://ci.example.com/runs/3",
            title="Restore drill",
            user=engineer,
        )

    async def scenario():
        socket = await open_socket(small.pk, headers)
        change = await sync_to_async(add)()
        event = await next_message(socket)
        await socket.disconnect()
        return change, event

    change, event = async_to_sync(scenario)()

    assert (event["kind"], event["seq"]) == ("evidence", change.seq)
    assert f'id="item-{required_item.pk}"' in event["html"]
    assert 'href="https://ci.example.com/runs/3"' in event["html"]
    assert "Restore drill" in event["html"]
    # The viewer's row: the evidence, but no form to add any.
    assert "evidence-form" not in event["html"]
