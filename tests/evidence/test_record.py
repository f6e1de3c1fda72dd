"""Evidence in the deployment's record page and its JSON, CSV and Markdown exports."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from deploychecks.evidence import services
from tests.evidence.conftest import PNG, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def backed(small, required_item, engineer):
    link = services.add_link(
        deployment_id=small.pk,
        item_id=required_item.pk,
        url="https://ci.example.com/runs/8",
        title="Restore =drill",
        user=engineer,
    ).obj
    file = services.add_file(
        deployment_id=small.pk,
        item_id=required_item.pk,
        upload=SimpleUploadedFile("shot.png", PNG),
        user=engineer,
    ).obj
    return link, file


def _export(user, deployment, fmt):
    response = client_for(user).get(reverse("history:export", args=[deployment.pk, fmt]))
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_record_page_lists_the_evidence(small, backed, viewer):
    link, file = backed

    html = client_for(viewer).get(reverse("history:record", args=[small.pk])).content.decode()

    assert 'href="https://ci.example.com/runs/8"' in html and "Restore =drill" in html
    assert reverse("evidence:download", args=[small.pk, file.pk]) in html
    assert "Evidence required" in html


def test_json_export_has_the_evidence(small, backed, required_item, viewer):
    link, file = backed

    data = json.loads(_export(viewer, small, "json"))

    [item] = [i for p in data["phases"] for i in p["items"] if i["id"] == required_item.pk]
    assert item["evidence_required"] is True
    assert [(e["kind"], e["url"], e["filename"]) for e in item["evidence"]] == [
        ("link", "https://ci.example.com/runs/8", None),
        ("file", None, "shot.png"),
    ]
    assert item["evidence"][1]["sha256"] == file.sha256


def test_csv_export_has_the_evidence_defused(small, backed, required_item, viewer):
    rows = list(csv.DictReader(io.StringIO(_export(viewer, small, "csv").decode())))

    [row] = [r for r in rows if r["item"] == "Backups verified" and not r["subcheck"]]
    assert row["evidence_required"] == "yes"
    assert row["evidence"].startswith("Restore =drill (https://ci.example.com/runs/8) by erin")
    assert "file shot.png" in row["evidence"]


def test_markdown_export_keeps_the_marker_and_lists_the_evidence(small, backed, viewer):
    markdown = _export(viewer, small, "md").decode()

    assert "**Backups verified** restore tested (evidence required)" in markdown
    assert "Evidence by erin at " in markdown
    assert "[Restore =drill](<https://ci.example.com/runs/8>)" in markdown
    assert "shot.png" in markdown
