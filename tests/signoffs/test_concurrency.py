"""Double submissions at the same instant leave exactly one valid sign-off."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deploychecks.accounts.reauth import REAUTH_SESSION_KEY
from deploychecks.audit.models import AuditEvent
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.services import checklist_hash

pytestmark = pytest.mark.django_db(transaction=True)


def _confirmed_client(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[REAUTH_SESSION_KEY] = timezone.now().timestamp()
    session.save()
    return client


def _race(jobs):
    """Run the jobs in threads released at once; each gets its own connection."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        try:
            return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_concurrent_double_submissions_leave_exactly_one_valid_sign_off(
    deployment, approver, backup, role, purge_audit_events
):
    # One test, not two: each transactional test ends with a slow flush.
    url = reverse("signoffs:sign", args=[deployment.pk, role("QA Lead").pk])
    shown = checklist_hash(deployment.pk)  # signing does not change it

    # Six tabs of one approver send the same form at the same instant.
    clients = [_confirmed_client(approver) for _ in range(6)]
    responses = _race(
        [
            lambda c=c: c.post(
                url,
                {"decision": "approve", "comment": "Ship it", "checklist_hash": shown},
                HTTP_HX_REQUEST="true",
            )
            for c in clients
        ]
    )

    assert [r.status_code for r in responses] == [200] * 6
    assert all('data-state="approved"' in r.content.decode() for r in responses)
    assert SignOff.objects.count() == 1 and SignOff.objects.get().status == "valid"
    assert AuditEvent.objects.filter(action="signoff.approved").count() == 1

    # Approver and backup disagree, twice each, at the same instant.
    jobs = []
    for user, decision in [
        (approver, "reject"),
        (backup, "approve"),
        (approver, "approve"),
        (backup, "reject"),
    ]:
        client = _confirmed_client(user)
        jobs.append(
            lambda c=client, d=decision: c.post(
                url,
                {"decision": d, "comment": f"{d} in a race", "checklist_hash": shown},
                HTTP_HX_REQUEST="true",
            )
        )
    responses = _race(jobs)

    assert {r.status_code for r in responses} == {200}
    signoffs = list(SignOff.objects.order_by("created_at", "pk"))
    assert [s.status for s in signoffs] == ["superseded"] * 4 + ["valid"]
    assert AuditEvent.objects.filter(action__startswith="signoff.").count() == 5
