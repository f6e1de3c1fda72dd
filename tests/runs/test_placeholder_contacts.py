"""Placeholder contacts ("[Name]", "[Phone]", "@name") stay "not filled in": shown so,
and going live asks the lead to fill them in or waive them by an audited override
(issue 12 §4). The rule itself: tests/runs/test_gate_rules.py; escalation skipping
them: tests/reminders/test_placeholder_contacts.py.
"""

import pytest
from django.db.models import F
from django.test import Client

from deploychecks.audit.models import AuditEvent
from deploychecks.core.errors import GateClosed
from deploychecks.runs.models import RunItem
from deploychecks.runs.services import change_status
from deploychecks.runs.team import save_contacts
from tests.gates import override

pytestmark = pytest.mark.django_db

FILLED = [
    {"role": "Deployment lead", "person": "lena@example.com", "phone": "+1 555 0100", "handle": ""},
    {"role": "Backend lead", "person": "Bob Backend", "phone": "", "handle": "@bob"},
]


def _started_with_items_done(deployment, lead):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    RunItem.objects.filter(deployment=deployment, phase__stage="before").update(
        state=RunItem.State.DONE, version=F("version") + 1
    )


def test_going_live_with_placeholder_contacts_is_refused_naming_them(deployment, lead):
    _started_with_items_done(deployment, lead)

    with pytest.raises(GateClosed) as refused:
        change_status(deployment_id=deployment.pk, to="monitoring", user=lead)

    assert [c.label for c in refused.value.unmet] == [
        "Deployment lead",
        "Backend lead",
        "Frontend lead",
        "DevOps lead",
        "Executive sponsor",
    ]
    assert "every contact filled in (or waived); not filled in: Deployment lead" in (
        refused.value.message
    )


def test_filled_in_contacts_open_the_gate_and_placeholders_saved_again_do_not(deployment, lead):
    _started_with_items_done(deployment, lead)
    save_contacts(
        deployment_id=deployment.pk,
        rows=[*FILLED, {"role": "QA", "person": "[Name]", "phone": "[Phone]", "handle": "@name"}],
        user=lead,
    )
    assert list(deployment.contacts.values_list("role", "filled_in")) == [
        ("Deployment lead", True),
        ("Backend lead", True),
        ("QA", False),
    ]
    with pytest.raises(GateClosed) as refused:
        change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    assert [c.label for c in refused.value.unmet] == ["QA"]

    save_contacts(deployment_id=deployment.pk, rows=FILLED, user=lead)
    change_status(deployment_id=deployment.pk, to="monitoring", user=lead)

    deployment.refresh_from_db()
    assert deployment.status == "monitoring"


def test_waiving_placeholder_contacts_is_an_audited_override(deployment, lead):
    _started_with_items_done(deployment, lead)

    override(deployment, lead, "monitoring", "Sponsor and frontend are not involved in a patch")

    deployment.refresh_from_db()
    assert deployment.status == "monitoring"
    event = AuditEvent.objects.get(action="deployment.override")
    assert {c["kind"] for c in event.after["conditions"]} == {"contacts"}
    assert len(event.after["conditions"]) == 5
    assert event.after["reason"] == "Sponsor and frontend are not involved in a patch"


def test_the_run_page_and_the_settings_page_show_them_as_not_filled_in(deployment, lead):
    client = Client()
    client.force_login(lead)
    save_contacts(
        deployment_id=deployment.pk,
        rows=[FILLED[0], {"role": "QA", "person": "[Name]", "phone": "", "handle": ""}],
        user=lead,
    )

    run = client.get(deployment.get_absolute_url()).content.decode()
    settings_page = client.get(f"/deployments/{deployment.pk}/settings/").content.decode()

    assert 'id="run-contacts"' in run and "Contacts not filled in: QA." in run
    assert settings_page.count("not filled in</span>") == 1
