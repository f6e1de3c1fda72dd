"""The "(evidence required)" marker: parsed, saved, exported, snapshotted."""

import pytest
from django.urls import reverse

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import load_parsed, save_template
from tests.evidence.conftest import MARKDOWN

pytestmark = pytest.mark.django_db


def _items(parsed):
    return {item.title: item for item in parsed.items()}


def test_marker_is_read_and_left_out_of_the_summary():
    items = _items(parse_checklist(MARKDOWN))

    assert items["Backups verified"].evidence_required is True
    assert items["Backups verified"].summary == "restore tested"
    assert items["Announce the window"].evidence_required is False


def test_marker_reads_with_owners_due_time_and_emphasis():
    text = (
        "# T\n\n## P\n\n"
        "- [ ] **Deploy** to prod _(Evidence Required)_ @alice (due 2h after go-live)\n"
        "- [ ] **Plain (evidence required)** is only a title\n"
        "- [ ] (evidence required)\n"
    )
    items = _items(parse_checklist(text))

    deploy = items["Deploy"]
    assert (deploy.evidence_required, deploy.summary, deploy.owners, deploy.due_text) == (
        True,
        "to prod",
        ["alice"],
        "2h after go-live",
    )
    assert items["Plain (evidence required)"].evidence_required is False
    assert items["(evidence required)"].evidence_required is False


def test_round_trip_through_the_exporter(lead):
    revision = save_template(parse_checklist(MARKDOWN), user=lead)

    exported = export_markdown(load_parsed(revision))
    again = _items(parse_checklist(exported))

    assert "- [ ] **Backups verified** restore tested (evidence required)" in exported
    assert again["Backups verified"].evidence_required is True
    assert again["Announce the window"].evidence_required is False
    assert revision.phases.get().items.get(title="Backups verified").evidence_required


def test_deployment_snapshots_the_flag(small):
    flags = dict(small.items.values_list("title", "evidence_required"))

    assert flags == {"Backups verified": True, "Announce the window": False}


def test_the_import_preview_shows_the_marker_with_owners_and_due_time(admin_client):
    text = (
        "# T\n\n## P\n\n"
        "- [ ] **Deploy** to prod (evidence required) @alice (due 2h after go-live)\n"
        "- [ ] **Announce** the window\n"
    )
    page = admin_client.post(
        reverse("checklists:import"), {"markdown_text": text, "action": "preview"}
    ).content.decode()

    deploy, announce = [li.split("</li>")[0] for li in page.split('<li class="item">')[1:]]
    assert "Deploy" in deploy and "Announce" in announce
    assert '<span class="badge evidence-required">evidence required</span>' in deploy
    assert "@alice · due 2h after go-live" in deploy
    assert "evidence-required" not in announce
