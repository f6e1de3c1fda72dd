"""The import preview: the outline with counts, the encoding, and what was not turned
into items, with line numbers and why."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deploychecks.checklists.models import ChecklistTemplate

pytestmark = pytest.mark.django_db

TEMPLATE_WITHOUT_TITLE = b"""\
---
about: Release a new version
---
## Before

- [ ] \x93Freeze\x94 merges
<!--
- [ ] hidden example
-->

    - [ ] indented, so code

## Contacts

- Release lead: Ana <ana@example.com>
- DBA: [Name] <[Phone]>
"""


def _preview(client, content: bytes, name: str, action="preview"):
    upload = SimpleUploadedFile(name, content, content_type="text/markdown")
    return client.post("/templates/import/", {"markdown_file": upload, "action": action})


def _rows(html: str) -> list[tuple[str, str]]:
    """(lines, what) of each row in the "Not turned into items" table."""
    table = html[html.index('id="ignored"') :]
    table = table[: table.index("</details>")]
    return re.findall(r"<tr><td>([\d–]+)</td><td>([^<]*)</td>", table)


def test_the_preview_shows_encoding_counts_outline_and_what_was_ignored(admin_client):
    response = _preview(admin_client, TEMPLATE_WITHOUT_TITLE, "release_checklist.md")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Preview: Release checklist" in html  # named after the file
    assert "Read as <strong>Windows-1252</strong>" in html
    assert "<dt>Items</dt><dd>1</dd>" in html
    assert "<dt>Contacts not filled in</dt><dd>1</dd>" in html
    assert 'Before <span class="badge" title="Items in this phase">1 item</span>' in html
    assert "“Freeze” merges" in html
    assert "not filled in</span>" in html
    assert _rows(html) == [
        ("1–3", "front matter"),
        ("7–9", "HTML comment"),
        ("11", "indented code (not checkboxes, even if it looks like them)"),
    ]
    assert "hidden, as GitHub hides it" in html
    assert ChecklistTemplate.objects.count() == 0


def test_saving_after_the_preview_keeps_the_name_from_the_file(admin_client):
    preview = _preview(admin_client, TEMPLATE_WITHOUT_TITLE, "release_checklist.md")
    html = preview.content.decode()
    assert 'name="source_name" value="Release checklist"' in html

    # "Save" posts the text box and the hidden name back, without the file.
    text = re.search(r"<textarea[^>]*>\n?(.*?)</textarea>", html, re.S).group(1)
    saved = admin_client.post(
        "/templates/import/",
        {"markdown_text": unescape(text), "source_name": "Release checklist", "action": "save"},
    )

    template = ChecklistTemplate.objects.get()
    assert saved.status_code == 302
    assert template.name == "Release checklist"
    assert list(template.latest_revision.contacts.values_list("filled_in", flat=True)) == [
        True,
        False,
    ]


def test_the_preview_lists_the_signals_it_read(admin_client, default_template_path):
    response = _preview(admin_client, default_template_path.read_bytes(), "production.md")

    html = response.content.decode()
    assert "<dt>Go/no-go signals</dt><dd>4</dd>" in html
    assert "<td>Error rate</td><td>%</td>" in html
    assert "more than 5 min" in html
    assert "Read as <strong>UTF-8</strong>" in html


def test_the_preview_says_which_threshold_rows_it_could_not_read(admin_client):
    source = (
        b"# R\n\n## Go\n\n- [ ] Ship\n\n## Thresholds\n\n| Signal | Green | Yellow | Red |\n"
        b"|---|---|---|---|\n| Mood | fine | meh | grim |\n"
    )

    html = _preview(admin_client, source, "r.md").content.decode()

    assert ("11", "signal “Mood”") in _rows(html)
    assert "the green value “fine” is not a threshold" in html
    assert "<dt>Go/no-go signals</dt><dd>0</dd>" in html


def test_the_preview_of_the_seed_counts_its_repaired_mojibake(admin_client, seed_bytes):
    html = _preview(admin_client, seed_bytes, "seed.md").content.decode()

    assert re.search(r"Read as <strong>UTF-8</strong>; \d+ garbled character sequences", html)
    assert "<dt>Items</dt><dd>89</dd>" in html


def test_the_form_labels_only_what_can_be_filled_in(admin_client):
    page = admin_client.get("/templates/import/").content.decode()

    assert 'type="hidden" name="source_name"' in page
    assert "Source name" not in page  # a label with no field under it, before
    assert ">Markdown file</label>" in page
