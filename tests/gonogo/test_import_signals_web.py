"""The seed imported through the Import page gets the go/no-go signals of its
Markdown, a deployment of it grades them, and the export writes them back
(issue 12 §4), end to end over HTTP."""

import pytest
from django.urls import reverse

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.checklists.parser import parse_checklist
from deploychecks.runs.services import create_deployment

pytestmark = pytest.mark.django_db


def test_the_seed_imported_on_the_page_has_its_signals_and_exports_them(
    admin_client, seed_bytes, lead
):
    response = admin_client.post(
        reverse("checklists:import"),
        {"markdown_text": seed_bytes.decode("utf-8"), "action": "save"},
    )
    assert response.status_code in (200, 302), response.content[:500]
    template = ChecklistTemplate.objects.get(is_default=False)
    revision = template.revisions.get()

    page = admin_client.get(f"/templates/{template.pk}/signals/").content.decode()
    deployment = create_deployment(
        revision, user=lead, release_name="R", version="1", service="checkout", lead=lead
    )
    exported = admin_client.get(
        reverse("checklists:export", args=[template.pk, revision.number])
    ).content

    names = ["Error rate", "P95 latency", "Database connections", "Data corruption"]
    assert all(name in page for name in names)
    assert list(deployment.signals.order_by("position").values_list("name", flat=True)) == names
    again = parse_checklist(exported).signals
    assert [(s.name, s.unit, s.yellow_at, s.red_at, s.sustained_minutes) for s in again] == [
        ("Error rate", "%", 0.5, 1.0, 5),
        ("P95 latency", "ms", 600.0, 1000.0, 10),
        ("Database connections", "of 20", 18.0, 20.0, None),
        ("Data corruption", "yes/no", None, 1.0, None),
    ]
