"""Links and files as evidence on an item: checks, limits, storage, downloads, audit."""

import hashlib
import os
import re

import pytest
from asgiref.sync import async_to_sync
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from deploychecks.asgi import application
from deploychecks.audit.models import AuditEvent
from deploychecks.core.middleware import ContentSecurityPolicyMiddleware
from deploychecks.evidence import services
from deploychecks.evidence.content import size_label
from deploychecks.evidence.models import Evidence
from deploychecks.evidence.upload_limit import ENVELOPE_BYTES, with_evidence_limit
from deploychecks.runs.services import RunError, add_item_note, delete_item_note
from tests.evidence.conftest import HTML, PNG, client_for

pytestmark = pytest.mark.django_db


def _add(client, deployment, item, data, **extra):
    return client.post(
        reverse("evidence:add", args=[deployment.pk, item.pk]),
        data,
        HTTP_HX_REQUEST="true",
        **extra,
    )


def _stored_files():
    root = default_storage.location
    return sorted(os.path.join(path, name) for path, _, names in os.walk(root) for name in names)


def test_it_adds_a_link_with_the_title_given(small, plain_item, engineer):
    response = _add(
        client_for(engineer),
        small,
        plain_item,
        {"url": "https://ci.example.com/run/42", "title": "CI run <42>"},
    )

    assert response.status_code == 200
    evidence = Evidence.objects.get(item=plain_item)
    assert (evidence.kind, evidence.url, evidence.title) == (
        "link",
        "https://ci.example.com/run/42",
        "CI run <42>",
    )
    assert evidence.added_by == engineer
    html = response.content.decode()
    assert f'id="item-{plain_item.pk}"' in html
    assert 'href="https://ci.example.com/run/42" rel="noopener noreferrer nofollow"' in html
    assert "CI run &lt;42&gt;" in html and "CI run <42>" not in html


def test_a_link_without_a_title_shows_its_url(small, plain_item, engineer):
    change = services.add_link(
        deployment_id=small.pk, item_id=plain_item.pk, url=" http://x.example/a ", user=engineer
    )

    assert (change.obj.title, change.obj.url) == ("http://x.example/a", "http://x.example/a")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example.com/x",
        "data:text/html,<script>alert(1)</script>",
        "https://",
        "//evil.example.com/x",
        "https://exa mple.com/",
        "",
    ],
)
def test_only_http_and_https_links_are_kept(small, plain_item, engineer, url):
    response = _add(client_for(engineer), small, plain_item, {"url": url, "title": "Mine"})

    assert response.status_code == 400
    assert not Evidence.objects.exists()
    html = response.content.decode()
    assert "evidence-error" in html
    # Nothing lost: what was typed is in the form again, and the form is open.
    assert 'value="Mine"' in html
    assert f'id="item-{plain_item.pk}-evidence" open' in html


def test_it_stores_a_png_through_the_storage_api(small, plain_item, engineer, png_upload):
    response = _add(client_for(engineer), small, plain_item, {"file": png_upload, "title": ""})

    assert response.status_code == 200
    evidence = Evidence.objects.get(item=plain_item)
    assert (evidence.kind, evidence.content_type, evidence.filename) == (
        "file",
        "image/png",
        "screen.png",
    )
    assert evidence.title == "screen.png" and evidence.size == len(PNG)
    assert evidence.sha256 == hashlib.sha256(PNG).hexdigest()
    # Stored under a name of ours (no extension of the uploader's), with its bytes.
    assert evidence.file.name.startswith(f"evidence/{small.pk}/") and "." not in evidence.file.name
    with default_storage.open(evidence.file.name) as stored:
        assert stored.read() == PNG


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        ("2026-12-05 18:00 deploy ok ✓\n".encode(), "text/plain; charset=utf-8"),
    ],
)
def test_accepted_types_are_read_from_the_bytes(small, plain_item, engineer, head, content_type):
    # The name and the browser's type say something else on purpose.
    upload = SimpleUploadedFile("whatever.exe", head, content_type="application/x-msdownload")

    change = services.add_file(
        deployment_id=small.pk, item_id=plain_item.pk, upload=upload, user=engineer
    )

    assert change.obj.content_type == content_type
    assert not change.obj.filename.endswith(".exe")


def test_a_png_named_file_with_html_inside_is_refused(small, plain_item, engineer):
    upload = SimpleUploadedFile("screenshot.png", HTML, content_type="image/png")
    before = _stored_files()

    response = _add(client_for(engineer), small, plain_item, {"file": upload})

    assert response.status_code == 400
    assert "not one of the accepted types" in response.content.decode()
    assert not Evidence.objects.exists()
    assert _stored_files() == before


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x01\x02binary",
        b"   <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"<?xml version='1.0'?><x/>",
        b"\xef\xbb\xbf<html><body>hi</body></html>",
        b"\xff\xfe\x00l\x00o\x00g",
        b"   \n  ",
    ],
)
def test_markup_binary_and_empty_text_are_refused(small, plain_item, engineer, body):
    upload = SimpleUploadedFile("log.txt", body, content_type="text/plain")

    with pytest.raises(RunError):
        services.add_file(
            deployment_id=small.pk, item_id=plain_item.pk, upload=upload, user=engineer
        )

    assert not Evidence.objects.exists()


def test_a_text_log_named_png_is_offered_as_text(small, plain_item, engineer):
    upload = SimpleUploadedFile(
        "deploy.png", b"INFO migrated 12 tables\n", content_type="image/png"
    )

    change = services.add_file(
        deployment_id=small.pk, item_id=plain_item.pk, upload=upload, user=engineer
    )

    assert (change.obj.filename, change.obj.content_type) == (
        "deploy.txt",
        "text/plain; charset=utf-8",
    )


def test_a_file_over_the_size_limit_is_refused(small, plain_item, engineer, settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    before = _stored_files()
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 1000, content_type="image/png")
    just_right = SimpleUploadedFile("ok.png", PNG + b"\x00" * (1000 - len(PNG)))

    refused = _add(client_for(engineer), small, plain_item, {"file": big})
    accepted = _add(client_for(engineer), small, plain_item, {"file": just_right})

    assert refused.status_code == 400
    assert "evidence files can be at most" in refused.content.decode()
    assert accepted.status_code == 200
    assert list(Evidence.objects.values_list("filename", flat=True)) == ["ok.png"]
    assert len(_stored_files()) == len(before) + 1


def test_an_upload_far_over_the_limit_is_refused_with_the_limit(
    small, plain_item, engineer, settings
):
    settings.EVIDENCE_MAX_BYTES = 1000
    huge = SimpleUploadedFile("huge.png", PNG + b"\x00" * 300_000, content_type="image/png")

    # Through Django (the test client has no ASGI wrapper): the service refuses it.
    response = _add(client_for(engineer), small, plain_item, {"file": huge})

    assert response.status_code == 400
    assert "evidence files can be at most 1000 bytes" in response.content.decode()
    assert not Evidence.objects.exists()


def _http_scope(path, length, *, htmx=False):
    headers = [(b"content-length", str(length).encode()), (b"content-type", b"multipart/form-data")]
    if htmx:
        headers.append((b"hx-request", b"true"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def _call(app, scope):
    """Run `app` on `scope`; what it sent, and how often it asked for the body."""
    sent, asked = [], []

    async def receive():
        asked.append(1)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    async_to_sync(app)(scope, receive, send)
    return sent, len(asked)


def test_an_upload_announced_over_the_limit_is_refused_before_its_body_is_read(settings):
    settings.EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    # The served application itself (deploychecks.asgi), any ids: no access
    # check, no database, the same answer for everyone.
    path = "/deployments/4242/items/77/evidence/"

    htmx, htmx_reads = _call(application, _http_scope(path, 2 * 1024**3, htmx=True))
    plain, plain_reads = _call(application, _http_scope(path, 11 * 1024 * 1024))

    message = (
        "This upload is 2 GB; evidence files can be at most 10 MB. Nothing was read or "
        "saved. Add a smaller excerpt or a link instead."
    )
    assert (htmx_reads, plain_reads) == (0, 0)
    start, body = htmx
    headers = dict(start["headers"])
    assert start["status"] == 413
    assert message in body["body"].decode()
    assert (headers[b"hx-reswap"], headers[b"x-input-refused"]) == (b"none", b"too-large")
    start, body = plain
    assert start["status"] == 413
    assert body["body"].decode() == message.replace("2 GB", "11 MB")


def test_only_oversized_evidence_uploads_are_stopped_before_django(settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    passed = []

    async def django_app(scope, receive, send):
        passed.append(scope["path"])
        await receive()

    app = with_evidence_limit(django_app)
    big = 1000 + ENVELOPE_BYTES + 1
    _call(app, _http_scope("/deployments/1/items/2/evidence/", 1000 + ENVELOPE_BYTES))
    _call(app, _http_scope("/templates/import/", big))
    refused, reads = _call(app, _http_scope("/deployments/1/items/2/evidence/", big))

    assert passed == ["/deployments/1/items/2/evidence/", "/templates/import/"]
    assert (refused[0]["status"], reads) == (413, 0)


@pytest.mark.parametrize(
    ("n_bytes", "label"),
    [
        (1, "1 byte"),
        (1000, "1000 bytes"),
        (1536, "1.5 KB"),
        (1024 * 1024 - 1, "1 MB"),
        (1024 * 1024 - 60, "1023.9 KB"),
        (10 * 1024 * 1024, "10 MB"),
        (10 * 1024 * 1024 + 600 * 1024, "10.6 MB"),
        (3 * 1024**3, "3 GB"),
    ],
)
def test_sizes_read_in_one_unit(n_bytes, label):
    assert size_label(n_bytes) == label


def test_a_listed_file_reads_its_size_as_the_limit_does(small, plain_item, engineer, lead):
    """The run page and the record list a file's size in the same words as the
    form's limit and the refusal ("10 KB", not Django's "10.0 KB")."""
    shot = SimpleUploadedFile("shot.png", PNG + b"\x00" * (10 * 1024 - len(PNG)), "image/png")
    assert _add(client_for(engineer), small, plain_item, {"file": shot}).status_code == 200

    run_page = client_for(engineer).get(small.get_absolute_url()).content.decode()
    record = client_for(lead).get(reverse("history:record", args=[small.pk])).content.decode()
    assert "<bdi>shot.png</bdi>, 10 KB" in run_page
    assert "shot.png, 10 KB" in record
    assert "10.0 KB" not in run_page and "10.0 KB" not in record


def test_the_refusal_and_the_form_give_the_same_limit(small, plain_item, engineer, settings):
    settings.EVIDENCE_MAX_BYTES = 1536
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2000, content_type="image/png")
    client = client_for(engineer)

    refused = _add(client, small, plain_item, {"file": big}).content.decode()
    form = client.get(reverse("evidence:form", args=[small.pk, plain_item.pk])).content.decode()

    assert "This file is 2 KB; evidence files can be at most 1.5 KB." in refused
    assert "a text log excerpt, at most 1.5 KB." in form


def test_a_file_a_few_bytes_over_is_just_over_the_limit(small, plain_item, engineer, settings):
    settings.EVIDENCE_MAX_BYTES = 1536
    upload = SimpleUploadedFile("a.png", PNG + b"\x00" * (1540 - len(PNG)))

    with pytest.raises(RunError) as refused:
        services.add_file(
            deployment_id=small.pk, item_id=plain_item.pk, upload=upload, user=engineer
        )

    assert refused.value.message.startswith(
        "This file is just over 1.5 KB; evidence files can be at most 1.5 KB."
    )


def test_a_link_and_a_file_at_once_are_refused(small, plain_item, engineer, png_upload):
    response = _add(
        client_for(engineer),
        small,
        plain_item,
        {"file": png_upload, "url": "https://ci.example.com/1"},
    )

    assert response.status_code == 400
    assert not Evidence.objects.exists()


def _file(small, item, user, body=PNG, name="screen.png"):
    upload = SimpleUploadedFile(name, body)
    return services.add_file(deployment_id=small.pk, item_id=item.pk, upload=upload, user=user).obj


def test_download_is_an_attachment_never_sniffed_under_the_csp(small, plain_item, engineer, viewer):
    evidence = _file(small, plain_item, engineer, name='x"; filename=evil.html.png')

    response = client_for(viewer).get(reverse("evidence:download", args=[small.pk, evidence.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    # One name, ours: the quote and the semicolon typed into it cannot start a second one.
    assert response["Content-Disposition"] == 'attachment; filename="x_ filename_evil.html.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    # The site's policy, as the middleware builds it from settings.CONTENT_SECURITY_POLICY.
    assert response["Content-Security-Policy"] == ContentSecurityPolicyMiddleware(None).policy


def test_a_text_file_downloads_as_text_never_html(small, plain_item, engineer):
    evidence = _file(small, plain_item, engineer, body=b"log line <b>bold</b>\n", name="a.html")

    response = client_for(engineer).get(reverse("evidence:download", args=[small.pk, evidence.pk]))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert 'filename="a.txt"' in response["Content-Disposition"]


def test_outsiders_get_404_for_adding_and_downloading(small, plain_item, engineer, outsider):
    evidence = _file(small, plain_item, engineer)
    client = client_for(outsider)

    added = _add(client, small, plain_item, {"url": "https://ci.example.com/1"})
    download = client.get(reverse("evidence:download", args=[small.pk, evidence.pk]))
    missing = client.get(reverse("evidence:download", args=[small.pk + 1000, evidence.pk]))

    assert (added.status_code, download.status_code, missing.status_code) == (404, 404, 404)
    token = re.compile(rb"[A-Za-z0-9]{64}")  # the CSRF token, masked afresh each time
    assert token.sub(b"", download.content) == token.sub(b"", missing.content)
    assert Evidence.objects.count() == 1


def test_a_file_of_another_deployment_is_404(small, plain_item, engineer, deployment):
    evidence = _file(small, plain_item, engineer)

    # The engineer is on `deployment` too, but the file is not in it.
    response = client_for(engineer).get(
        reverse("evidence:download", args=[deployment.pk, evidence.pk])
    )

    assert response.status_code == 404


def test_viewers_may_download_but_not_add(small, plain_item, viewer):
    response = _add(client_for(viewer), small, plain_item, {"url": "https://ci.example.com/1"})

    assert response.status_code == 403
    assert "Only the lead, engineers and this item" in response.content.decode()
    assert not Evidence.objects.exists()


def test_adding_needs_the_csrf_token(small, plain_item, engineer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(engineer)

    response = _add(client, small, plain_item, {"url": "https://ci.example.com/1"})

    assert response.status_code == 403
    assert not Evidence.objects.exists()


def test_no_evidence_once_the_checklist_is_closed(small, plain_item, lead, engineer):
    from deploychecks.runs.services import change_status

    change_status(deployment_id=small.pk, to="aborted", user=lead, reason="Called off")

    with pytest.raises(RunError, match="checklist is closed"):
        services.add_link(
            deployment_id=small.pk, item_id=plain_item.pk, url="https://x.example/", user=engineer
        )


def test_adding_evidence_is_audited(small, plain_item, engineer):
    link = services.add_link(
        deployment_id=small.pk,
        item_id=plain_item.pk,
        url="https://ci.example.com/7",
        title="CI",
        user=engineer,
    )
    file = _file(small, plain_item, engineer)

    events = list(
        AuditEvent.objects.filter(deployment=small, action="evidence.added").order_by("seq")
    )
    assert [e.after["evidence_id"] for e in events] == [link.obj.pk, file.pk]
    assert events[0].after | {} == {
        "evidence_id": link.obj.pk,
        "kind": "link",
        "title": "CI",
        "note_id": None,
        "url": "https://ci.example.com/7",
    }
    assert events[1].after["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert all(e.actor == engineer and e.target_id == str(plain_item.pk) for e in events)
    assert events[0].seq < events[1].seq


def test_evidence_on_a_note_must_be_a_note_of_that_item(small, plain_item, required_item, engineer):
    from deploychecks.runs.services import add_item_note

    note = add_item_note(
        deployment_id=small.pk, item_id=required_item.pk, body="restore log", user=engineer
    ).obj

    with pytest.raises(RunError, match="not on this item"):
        services.add_link(
            deployment_id=small.pk,
            item_id=plain_item.pk,
            url="https://x.example/",
            note_id=note.pk,
            user=engineer,
        )
    kept = services.add_link(
        deployment_id=small.pk,
        item_id=required_item.pk,
        url="https://x.example/",
        note_id=note.pk,
        user=engineer,
    )
    assert kept.obj.note == note


def test_a_deleted_note_carries_no_evidence(small, plain_item, engineer):
    kept = add_item_note(
        deployment_id=small.pk, item_id=plain_item.pk, body="Restore took 3 min", user=engineer
    ).obj
    gone = add_item_note(
        deployment_id=small.pk, item_id=plain_item.pk, body="wrong item, sorry", user=engineer
    ).obj
    delete_item_note(deployment_id=small.pk, note_id=gone.pk, user=engineer)
    client = client_for(engineer)

    form = client.get(reverse("evidence:form", args=[small.pk, plain_item.pk])).content.decode()
    response = _add(client, small, plain_item, {"url": "https://x.example/", "note": str(gone.pk)})

    assert f'<option value="{kept.pk}">' in form
    assert f'<option value="{gone.pk}">' not in form
    assert response.status_code == 400
    assert (
        "That note was deleted; attach the evidence to the item or another note."
        in response.content.decode()
    )
    with pytest.raises(RunError, match="That note was deleted"):
        services.add_file(
            deployment_id=small.pk,
            item_id=plain_item.pk,
            upload=SimpleUploadedFile("a.png", PNG),
            note_id=gone.pk,
            user=engineer,
        )
    assert not Evidence.objects.exists()


def test_the_form_comes_when_the_panel_opens_for_who_may_add(small, plain_item, engineer, viewer):
    url = reverse("evidence:form", args=[small.pk, plain_item.pk])
    page = client_for(engineer).get(small.get_absolute_url()).content.decode()

    form = client_for(engineer).get(url, HTTP_HX_REQUEST="true")
    refused = client_for(viewer).get(url, HTTP_HX_REQUEST="true")

    # The run page carries a slot per item, not 89 forms.
    assert f'hx-get="{url}"' in page and f'id="evidence-url-{plain_item.pk}"' not in page
    assert form.status_code == 200
    assert f'id="evidence-url-{plain_item.pk}"' in form.content.decode()
    assert refused.status_code == 403


def test_the_timeline_tells_who_added_evidence(small, plain_item, engineer):
    services.add_link(
        deployment_id=small.pk, item_id=plain_item.pk, url="https://x.example/", user=engineer
    )

    html = client_for(engineer).get(reverse("runs:timeline", args=[small.pk])).content.decode()

    assert '<span data-action="evidence.added">added evidence to</span>' in html


def test_a_note_can_carry_evidence_from_the_form(small, plain_item, engineer):
    from deploychecks.runs.services import add_item_note

    note = add_item_note(
        deployment_id=small.pk, item_id=plain_item.pk, body="Restore took 3 min", user=engineer
    ).obj
    client = client_for(engineer)
    form = client.get(reverse("evidence:form", args=[small.pk, plain_item.pk])).content.decode()

    response = _add(
        client, small, plain_item, {"url": "https://x.example/log", "note": str(note.pk)}
    )

    assert f'<option value="{note.pk}">Note by erin: Restore took 3 min</option>' in form
    assert response.status_code == 200
    assert Evidence.objects.get().note == note
    assert "for a note, " in response.content.decode()


def test_an_items_owner_who_is_no_engineer_may_back_it(lead, engineer, viewer):
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template
    from deploychecks.runs.services import create_deployment

    revision = save_template(
        parse_checklist("# T\n\n## P\n\n- [ ] **Owned** @vic\n- [ ] **Not owned**\n"), user=lead
    )
    deployment = create_deployment(
        revision, user=lead, release_name="R", version="1", service="s", lead=lead, viewers=[viewer]
    )
    owned, other = deployment.items.get(title="Owned"), deployment.items.get(title="Not owned")
    client = client_for(viewer)

    mine = _add(client, deployment, owned, {"url": "https://x.example/1"})
    not_mine = _add(client, deployment, other, {"url": "https://x.example/2"})

    assert (mine.status_code, not_mine.status_code) == (200, 403)
    assert list(Evidence.objects.values_list("item__title", flat=True)) == ["Owned"]
