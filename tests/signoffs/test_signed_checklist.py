"""A sign-off names the checklist it approves (required) and keeps a copy of its state."""

import re

import pytest
from django.urls import reverse

from deploychecks.accounts.reauth import REAUTH_SESSION_KEY
from deploychecks.runs.models import RunItem, RunSubCheck
from deploychecks.runs.services import set_item_state, set_subcheck_state
from deploychecks.signoffs import services
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.snapshot import ChecklistState, hash_of
from tests.signoffs.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sent", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_a_sign_off_post_without_the_checklist_hash_is_refused_with_400(
    deployment, approver, role, sent
):
    client = client_for(approver)
    data = {"decision": "approve", "password": PASSWORD}
    if sent is not None:
        data["checklist_hash"] = sent

    response = client.post(
        reverse("signoffs:sign", args=[deployment.pk, role("QA Lead").pk]),
        data,
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "must name the checklist it approves (checklist_hash)" in response.content.decode()
    assert not SignOff.objects.exists()
    # Refused before anything else: not even the password was taken as confirmed.
    assert REAUTH_SESSION_KEY not in client.session


def test_the_service_refuses_a_sign_off_without_a_hash(approver, sign):
    with pytest.raises(services.ChecklistHashMissing) as refused:
        sign(approver, "QA Lead", expected_hash="")

    assert refused.value.status_code == 400
    assert not SignOff.objects.exists()


def _items(deployment):
    return {item.title: item for item in RunItem.objects.filter(deployment=deployment)}


def test_a_sign_off_keeps_the_checklist_state_it_approved(deployment, engineer, approver, sign):
    items = _items(deployment)
    set_item_state(
        deployment_id=deployment.pk,
        item_id=items["Backup created"].pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    set_item_state(
        deployment_id=deployment.pk,
        item_id=items["Smoke tests pass"].pk,
        state="na",
        expected_version=1,
        user=engineer,
        reason="Covered by the canary",
    )
    sub = RunSubCheck.objects.get(item=items["Backup created"])
    set_subcheck_state(
        deployment_id=deployment.pk,
        subcheck_id=sub.pk,
        done=True,
        expected_version=1,
        user=engineer,
    )

    signoff = sign(approver, "QA Lead").obj

    backup, smoke = items["Backup created"], items["Smoke tests pass"]
    snapshot = SignOff.objects.get(pk=signoff.pk).checklist_snapshot
    assert snapshot["items"] == sorted([[backup.pk, "done", 2], [smoke.pk, "na", 2]])
    assert snapshot["subchecks"] == [[sub.pk, backup.pk, True, 2]]
    assert snapshot["counts"] == {
        "items": 2,
        "done": 1,
        "na": 1,
        "open": 0,
        "subchecks": 1,
        "subchecks_done": 1,
    }
    # The copy is exactly what the hash covered.
    state = ChecklistState(
        items=[tuple(row) for row in snapshot["items"]],
        subchecks=[tuple(row) for row in snapshot["subchecks"]],
    )
    assert hash_of(state) == signoff.checklist_hash == services.checklist_hash(deployment.pk)


def test_the_record_shows_what_each_sign_off_approved(deployment, engineer, approver, sign):
    items = _items(deployment)
    set_item_state(
        deployment_id=deployment.pk,
        item_id=items["Backup created"].pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    signoff = sign(approver, "QA Lead").obj

    html = client_for(approver).get(reverse("history:record", args=[deployment.pk])).content
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))

    assert (
        f"Approved at 1 of 2 done, 0 N/A; checklist {signoff.checklist_hash[:12]}… "
        f"change #{signoff.checklist_seq} 1 item open then Smoke tests pass 1 sub-check open then"
    ) in text
    smoke = items["Smoke tests pass"]
    assert f'<a href="#item-{smoke.pk}">' in html.decode().split('id="signoffs"', 1)[1]
