"""Two engineers hammer one item at once; nothing is lost or silently overwritten."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.runs.models import RunItem

VERSION_RE = re.compile(r'id="item-\d+" class="run-item state-(\w+)" data-version="(\d+)"')


@pytest.mark.django_db(transaction=True)
def test_concurrent_sets_keep_the_last_committed_write(
    deployment, engineer, second_engineer, first_item, purge_audit_events
):
    url = reverse("runs:item_state", args=[deployment.pk, first_item.pk])
    # Each user is one browser: it sends with the newest version it has seen.
    seen = {engineer.pk: 1, second_engineer.pk: 1}
    lock = threading.Lock()
    local = threading.local()

    def send(user, state):
        if not hasattr(local, "clients"):
            local.clients = {}
        client = local.clients.get(user.pk)
        if client is None:
            client = local.clients[user.pk] = Client()
            client.force_login(user)
        with lock:
            version = seen[user.pk]
        try:
            response = client.post(
                url, {"state": state, "version": version}, HTTP_HX_REQUEST="true"
            )
        finally:
            connection.close()  # as at the end of a real request; no leaked sessions
        current_state, current_version = VERSION_RE.search(response.content.decode()).groups()
        with lock:
            seen[user.pk] = max(seen[user.pk], int(current_version))
        return response.status_code, version, int(current_version), current_state

    jobs = [
        (user, "done" if (i + n) % 2 == 0 else "open")
        for i in range(50)
        for n, user in enumerate((engineer, second_engineer))
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        log = list(pool.map(lambda job: send(*job), jobs))

    assert len(log) == 100
    assert {status for status, *_ in log} <= {200, 409}
    conflicts = [entry for entry in log if entry[0] == 409]
    assert conflicts, "concurrent writers on one item must meet stale versions"
    # A 409 only ever answers a request based on an older version, and carries
    # the current state.
    assert all(sent < current for _, sent, current, _ in conflicts)

    first_item.refresh_from_db()
    events = list(
        AuditEvent.objects.filter(
            deployment=deployment,
            target_id=str(first_item.pk),
            action__in=["item.ticked", "item.reopened"],
        ).order_by("seq")
    )
    # One audit event per committed change; versions count the changes.
    assert len(events) == first_item.version - 1 > 0
    assert [e.after["version"] for e in events] == list(range(2, first_item.version + 1))
    # The final state is the last committed write.
    assert first_item.state == events[-1].after["state"]
    assert RunItem.objects.get(pk=first_item.pk).state == first_item.state
