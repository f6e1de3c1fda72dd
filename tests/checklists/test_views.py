"""Template pages: list, detail, import (preview / save / errors), edit, and XSS safety."""

from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from deploychecks.checklists.models import ChecklistTemplate, Item, TemplateRevision
from tests.checklists.conftest import HOSTILE_MARKDOWN

pytestmark = pytest.mark.django_db


def _page(response) -> str:
    return response.content.decode("utf-8")


def _count(html: str, label: str) -> str:
    """The number shown next to `label` in the counts box."""
    start = html.index(f"<dt>{label}</dt><dd>") + len(f"<dt>{label}</dt><dd>")
    return html[start : html.index("</dd>", start)]


def _upload(content: bytes, name="checklist.md", content_type="text/markdown"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- Access -------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/templates/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/templates/"


def test_the_login_page_is_public(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/templates/import/", "/templates/{id}/edit/"])
def test_engineer_without_permission_cannot_import_or_edit(engineer_client, small_revision, url):
    url = url.format(id=small_revision.template_id)

    get = engineer_client.get(url)
    post = engineer_client.post(
        url, {"markdown_text": "# Small release\n\n## Go\n\n- [ ] x\n", "action": "save"}
    )

    assert (get.status_code, post.status_code) == (403, 403)
    assert TemplateRevision.objects.count() == 1


def test_engineer_can_read_templates_but_sees_no_import_button(engineer_client, small_revision):
    listing = engineer_client.get("/templates/")
    detail = engineer_client.get(f"/templates/{small_revision.template_id}/")

    assert listing.status_code == detail.status_code == 200
    assert "Small release" in _page(listing)
    assert "/templates/import/" not in _page(listing)
    assert "Edit (new revision)" not in _page(detail)


# --- List and detail ---------------------------------------------------------------------


def test_the_list_shows_each_template_with_its_latest_revision(admin_client, small_revision):
    response = admin_client.get("/templates/")

    html = _page(response)
    assert response.status_code == 200
    assert f'href="/templates/{small_revision.template_id}/"' in html
    assert "Small release" in html and "Revision 1" in html
    assert 'href="/templates/import/"' in html


def test_the_detail_page_shows_the_whole_structure(admin_client, seed_revision):
    response = admin_client.get(f"/templates/{seed_revision.template_id}/")

    html = _page(response)
    assert response.status_code == 200
    assert "Phase 1: Pre-Deployment Verification" in html
    assert "48 hours before" in html
    assert "Code &amp; Build Verification" in html  # a section
    assert "Decision &amp; Communication" in html and "2 min" in html  # a step and its budget
    assert "All tests passing" in html  # an item
    assert "Login with v1.1.0 account: Works ✅" in html  # a sub-check, mojibake repaired
    assert "QA Lead" in html and "Engineering Manager" in html  # sign-off roles
    assert "Executive Sponsor" in html and "@name" in html  # contacts
    assert [
        _count(html, label)
        for label in (
            "Phases",
            "Sections",
            "Steps",
            "Items",
            "Sub-checks",
            "Sign-off roles",
            "Contacts",
            "Contacts not filled in",
            "Go/no-go signals",
        )
    ] == ["6", "21", "7", "89", "27", "4", "5", "5", "4"]
    assert f'href="/templates/{seed_revision.template_id}/r1/export.md"' in html


def test_an_unknown_template_is_not_found(admin_client):
    assert admin_client.get("/templates/999999/").status_code == 404
    assert admin_client.get("/templates/999999/r1/").status_code == 404


# --- Import: preview, save, htmx ------------------------------------------------------------


def test_the_import_page_shows_the_form(admin_client):
    response = admin_client.get("/templates/import/")

    html = _page(response)
    assert response.status_code == 200
    assert 'name="markdown_file"' in html and 'name="markdown_text"' in html
    assert 'value="preview"' in html and 'value="save"' in html


def test_preview_shows_counts_and_saves_nothing(admin_client, small_markdown):
    response = admin_client.post(
        "/templates/import/", {"markdown_text": small_markdown, "action": "preview"}
    )

    html = _page(response)
    assert response.status_code == 200
    assert "Preview: Small release" in html
    assert [_count(html, label) for label in ("Phases", "Steps", "Items", "Sub-checks")] == [
        "2",
        "1",
        "3",
        "1",
    ]
    assert escape(small_markdown.splitlines()[0]) in html  # the text stays in the form
    assert ChecklistTemplate.objects.count() == 0


def test_preview_of_an_uploaded_file_keeps_its_text_for_the_save(admin_client, seed_bytes):
    response = admin_client.post(
        "/templates/import/",
        {
            "markdown_file": _upload(seed_bytes),
            "action": "preview",
        },
    )

    html = _page(response)
    assert response.status_code == 200
    assert _count(html, "Items") == "89"
    assert "# Task 5.10: Production Deployment Checklist" in html  # now in the text box
    assert ChecklistTemplate.objects.count() == 0


def test_htmx_preview_returns_only_the_preview_fragment(admin_client, small_markdown):
    response = admin_client.post(
        "/templates/import/",
        {"markdown_text": small_markdown, "action": "preview"},
        HTTP_HX_REQUEST="true",
    )

    html = _page(response).strip()
    assert response.status_code == 200
    assert html.startswith('<section id="preview"')
    assert html.endswith("</section>")
    assert "<form" not in html and "<html" not in html
    assert "Preview: Small release" in html


def test_save_creates_the_template_and_shows_it(admin_client, admin_user, small_markdown):
    response = admin_client.post(
        "/templates/import/", {"markdown_text": small_markdown, "action": "save"}
    )

    template = ChecklistTemplate.objects.get(name="Small release")
    revision = template.revisions.get()
    assert response.status_code == 302
    assert response["Location"] == f"/templates/{template.pk}/r1/"
    assert (revision.number, revision.created_by) == (1, admin_user)
    assert Item.objects.filter(phase__revision=revision).count() == 3


def test_htmx_save_redirects_the_browser(admin_client, small_markdown):
    response = admin_client.post(
        "/templates/import/",
        {"markdown_text": small_markdown, "action": "save"},
        HTTP_HX_REQUEST="true",
    )

    template = ChecklistTemplate.objects.get(name="Small release")
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/templates/{template.pk}/r1/"


def test_importing_a_taken_name_is_refused(admin_client, small_revision, small_markdown):
    response = admin_client.post(
        "/templates/import/", {"markdown_text": small_markdown, "action": "save"}
    )

    assert response.status_code == 422
    assert "already exists" in _page(response)
    assert TemplateRevision.objects.count() == 1


def test_import_as_a_new_revision_of_a_template(admin_client, small_revision, small_markdown):
    response = admin_client.post(
        "/templates/import/",
        {
            "markdown_text": small_markdown.replace("Freeze merges", "Freeze all merges"),
            "template": small_revision.template_id,
            "change_note": "wording",
            "action": "save",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/templates/{small_revision.template_id}/r2/"
    assert small_revision.template.revisions.get(number=2).change_note == "wording"


# --- Import: bad input ------------------------------------------------------------------


BAD_TEXT = [
    ("   \n\n  ", "Choose a Markdown file or paste the checklist text."),
    ("# R\n\n## Go\n\nNo boxes.\n", "no checkboxes found"),
    ("# R\n\n## Go\n\nText.\n\n    - [ ] code, not a task\n", "no checkboxes found"),
    ("# R\n\n## Go\n\n- [ ]\n", "no checkboxes found"),
    # Pasted text is parsed as typed: four spaces on the first line make it code.
    ("    - [ ] code on the first line\n", "no checkboxes found"),
    ("# R\n\n## Go\n\n- [ ] " + "x" * 501 + "\n", "Line 5: the item title"),
]


@pytest.mark.parametrize(
    ("text", "message"),
    BAD_TEXT,
    ids=[
        "whitespace",
        "no-checkboxes",
        "indented-code",
        "no-text",
        "indented-first-line",
        "title-too-long",
    ],
)
def test_bad_pasted_text_is_refused_and_kept_in_the_form(admin_client, text, message):
    response = admin_client.post("/templates/import/", {"markdown_text": text, "action": "save"})

    html = _page(response)
    assert response.status_code == 422
    assert "Nothing was saved" in html
    assert escape(message) in html
    assert f">\n{escape(text)}</textarea>" in html  # nothing the user typed is lost
    assert ChecklistTemplate.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"", "text/markdown", "The submitted file is empty."),
        (b"# R\n\n## Go\n\nNo boxes.\n", "text/markdown", "no checkboxes found"),
        (b"# R\n\n## Go\n\n- [ ] ok\x00\x00\x01", "text/plain", "binary file"),
        (b"\xfe\xff\x00#\xd8", "text/markdown", "starts with a UTF-16 with BOM mark"),
        (b"# R\n\n## Go\n\n- [ ] " + b"x" * 501, "text/markdown", "Line 5: the item title"),
        (
            b"# R\n\n## Go\n\n- [ ] Ship\n" + b"x" * 1_000_000,
            "text/markdown",
            "the limit is 1,000,000 bytes (1 MB)",
        ),
        (b"\x89PNG\r\n\x1a\n", "image/png", "is image/png; upload a Markdown text file"),
        (b"%PDF-1.7\n", "application/pdf", "is application/pdf; upload a Markdown text file"),
    ],
    ids=["empty", "no-checkboxes", "binary", "broken-utf16", "too-long", "over-1mb", "png", "pdf"],
)
def test_bad_uploads_are_refused_with_a_clear_message(admin_client, content, content_type, message):
    response = admin_client.post(
        "/templates/import/",
        {
            "markdown_file": _upload(content, content_type=content_type),
            "action": "save",
        },
    )

    html = _page(response)
    assert response.status_code == 422
    assert "Nothing was saved" in html
    assert escape(message) in html
    assert ChecklistTemplate.objects.count() == 0


def test_a_rejected_upload_keeps_the_pasted_text(admin_client, small_markdown):
    response = admin_client.post(
        "/templates/import/",
        {
            "markdown_file": _upload(b"%PDF-1.7\n", name="c.pdf", content_type="application/pdf"),
            "markdown_text": small_markdown,
            "action": "save",
        },
    )

    html = _page(response)
    assert response.status_code == 422
    assert "“c.pdf” is application/pdf" in html
    assert escape(small_markdown) in html
    assert ChecklistTemplate.objects.count() == 0


def test_an_upload_with_a_vague_type_but_a_markdown_name_is_accepted(admin_client, small_markdown):
    response = admin_client.post(
        "/templates/import/",
        {
            "markdown_file": _upload(
                small_markdown.encode(), content_type="application/octet-stream"
            ),
            "action": "save",
        },
    )

    assert response.status_code == 302
    assert ChecklistTemplate.objects.filter(name="Small release").exists()


def test_htmx_error_returns_the_message_in_the_preview_fragment(admin_client):
    response = admin_client.post(
        "/templates/import/",
        {"markdown_text": "# R\n\n## Go\n\n- [ ] " + "x" * 501 + "\n", "action": "preview"},
        HTTP_HX_REQUEST="true",
    )

    html = _page(response)
    assert response.status_code == 422
    assert "Line 5: the item title" in html
    assert ChecklistTemplate.objects.count() == 0


# --- Edit: versioning -------------------------------------------------------------------


def test_the_edit_page_shows_the_current_markdown(admin_client, small_revision):
    response = admin_client.get(f"/templates/{small_revision.template_id}/edit/")

    assert response.status_code == 200
    assert "- [ ] **Freeze merges**" in _page(response)


def test_saving_an_edit_creates_revision_two_and_keeps_revision_one(
    admin_client, small_revision, small_markdown
):
    template_id = small_revision.template_id
    edited = small_markdown.replace("Freeze merges", "Freeze all merges")

    response = admin_client.post(
        f"/templates/{template_id}/edit/",
        {
            "markdown_text": edited,
            "change_note": "stricter freeze",
            "action": "save",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/templates/{template_id}/r2/"
    assert list(
        small_revision.template.revisions.order_by("number").values_list("number", "change_note")
    ) == [(1, ""), (2, "stricter freeze")]
    latest = _page(admin_client.get(f"/templates/{template_id}/"))
    first = admin_client.get(f"/templates/{template_id}/r1/")
    assert "Freeze all merges" in latest and "Revision 2" in latest
    assert first.status_code == 200
    assert "Freeze merges" in _page(first) and "Freeze all merges" not in _page(first)
    assert "(an older revision)" in _page(first)


def test_previewing_an_edit_saves_nothing(admin_client, small_revision, small_markdown):
    response = admin_client.post(
        f"/templates/{small_revision.template_id}/edit/",
        {
            "markdown_text": small_markdown + "- [ ] One more\n",
            "action": "preview",
        },
    )

    assert response.status_code == 200
    assert _count(_page(response), "Items") == "4"
    assert small_revision.template.revisions.count() == 1


def test_a_bad_edit_is_refused_and_keeps_the_text(admin_client, small_revision, small_markdown):
    broken = small_markdown + "\n### Long\n\n- [ ] " + "x" * 501 + "\n"

    response = admin_client.post(
        f"/templates/{small_revision.template_id}/edit/",
        {"markdown_text": broken, "action": "save"},
    )

    html = _page(response)
    assert response.status_code == 422
    assert "the item title" in html and "limit is 500" in html
    assert escape(broken) in html
    assert small_revision.template.revisions.count() == 1


def test_an_edit_cannot_rename_the_template(admin_client, small_revision, small_markdown):
    response = admin_client.post(
        f"/templates/{small_revision.template_id}/edit/",
        {
            "markdown_text": small_markdown.replace("# Small release", "# Other"),
            "action": "save",
        },
    )

    assert response.status_code == 422
    assert small_revision.template.revisions.count() == 1


# --- XSS -----------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> tags."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)


def test_imported_markup_is_shown_as_text_and_never_runs(admin_client):
    saved = admin_client.post(
        "/templates/import/", {"markdown_text": HOSTILE_MARKDOWN, "action": "save"}
    )
    template = ChecklistTemplate.objects.get()

    html = _page(admin_client.get(f"/templates/{template.pk}/"))

    elements = _Elements()
    elements.feed(html)
    assert saved.status_code == 302
    assert template.name == "Hostile <script>alert(1)</script>"
    assert "<script>alert" not in html
    assert 'href="javascript:' not in html.lower()
    assert all(tag != "img" for tag, _ in elements.tags)
    assert not [(tag, a) for tag, attrs in elements.tags for a in attrs if a.startswith("on")]
    assert all(attrs.get("src") for tag, attrs in elements.tags if tag == "script")
    assert not "".join(elements.script_text).strip()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
