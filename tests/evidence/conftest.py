"""A small deployment with one item marked "evidence required", and file bytes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs.services import create_deployment

MARKDOWN = """# Evidence checklist

## Before

- [ ] **Backups verified** restore tested (evidence required)
- [ ] **Announce the window**
"""

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def small(lead, engineer, viewer):
    revision = save_template(parse_checklist(MARKDOWN), user=lead)
    return create_deployment(
        revision,
        user=lead,
        release_name="Evidence release",
        version="1.0.0",
        service="checkout-api",
        lead=lead,
        engineers=[engineer],
        viewers=[viewer],
    )


@pytest.fixture
def required_item(small):
    return small.items.get(title="Backups verified")


@pytest.fixture
def plain_item(small):
    return small.items.get(title="Announce the window")


@pytest.fixture
def png_upload():
    return SimpleUploadedFile("screen.png", PNG, content_type="image/png")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
