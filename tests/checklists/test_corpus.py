"""Real public checklists import with the counts written in corpus/manifest.toml.

The expected counts were written from reading each file before the importer ran
on it; see the manifest's header.
"""

import json
import tomllib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from deploychecks.checklists.models import ChecklistTemplate

CORPUS = Path(__file__).with_name("corpus")
MANIFEST = tomllib.loads((CORPUS / "manifest.toml").read_text(encoding="utf-8"))["file"]
KEYS = ("name", "phases", "sections", "steps", "items", "subchecks", "signoff_roles")

pytestmark = pytest.mark.django_db


def test_the_corpus_holds_at_least_ten_files_each_with_its_source():
    files = sorted(p.name for p in CORPUS.glob("*.md"))

    assert len(MANIFEST) >= 10
    assert files == sorted(entry["path"] for entry in MANIFEST)
    for path in files:
        head = (CORPUS / path).read_text(encoding="utf-8").splitlines()[:2]
        assert any("source: https://github.com/" in line for line in head), path


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["path"] for e in MANIFEST])
def test_each_real_checklist_imports_as_expected(entry):
    out = StringIO()
    call_command(
        "import_checklist", str(CORPUS / entry["path"]), "--dry-run", "--format", "json", stdout=out
    )
    report = json.loads(out.getvalue())

    assert {key: report[key] for key in KEYS} == {key: entry[key] for key in KEYS}
    assert (report["contacts"], report["signals"]) == (entry["contacts"], entry["signals"])
    # The source comment on the first line is hidden, not read as text.
    assert report["ignored"][0]["what"] in ("HTML comment", "front matter")
    assert ChecklistTemplate.objects.count() == 0
