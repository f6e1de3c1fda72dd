"""Writing a retrospective: sections, follow-ups, publishing; who may do what; the
published retro in the record and in the four exports."""

import csv
import io
import json

import pytest
from django.test import Client

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.parser import parse_checklist
from deploychecks.history.record import load_record
from deploychecks.retros.hooks import metrics_of
from deploychecks.retros.models import FollowUp, Retrospective

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> [link](javascript:alert(1))'


def _url(d, rest=""):
    return f"/deployments/{d.pk}/retro/{rest}"


def _section(d, n=0):
    return Retrospective.objects.get(deployment=d).sections.all()[n]


def _actions(d) -> list[str]:
    return list(
        AuditEvent.objects.filter(deployment=d, action__startswith="retro.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def _add(client, d, who, **extra):
    data = {"title": "Alert on slow migrations", "owner": who.pk, "due_date": "2027-01-15"}
    return client.post(_url(d, "follow-ups/"), {**data, **extra})


def test_participants_write_the_sections_and_it_is_audited(worked, client_of, engineer):
    section = _section(worked)
    response = client_of(engineer).post(
        _url(worked, f"sections/{section.pk}/"), {"body": "The runbook was right.\nFast."}
    )
    assert response.status_code == 302
    section.refresh_from_db()
    assert section.body == "The runbook was right.\nFast." and section.updated_by_name == "erin"
    edits = AuditEvent.objects.filter(deployment=worked, action="retro.section_edited")
    assert [e.after["body"] for e in edits.order_by("id")] == ["The runbook was right.\nFast."]


@pytest.mark.parametrize("who", ["viewer", "approver"])
def test_viewers_and_approvers_read_but_do_not_write(worked, client_of, lead, request, who):
    reader = request.getfixturevalue(who)
    client = client_of(reader)
    section = _section(worked)
    page = client.get(_url(worked)).content.decode()
    assert "<textarea" not in page and "Add a follow-up" not in page
    refused = client.post(_url(worked, f"sections/{section.pk}/"), {"body": "x"})
    assert refused.status_code == 403 and b"Only the lead and engineers" in refused.content
    assert "<textarea" not in refused.content.decode()
    assert _add(client, worked, reader).status_code == 403
    section.refresh_from_db()
    assert section.body == "" and not FollowUp.objects.filter(deployment=worked).exists()
    assert _actions(worked) == ["retro.opened"]


def test_the_owner_marks_their_own_follow_up_done_but_no_one_else_s(
    worked, client_of, lead, viewer, approver
):
    _add(client_of(lead), worked, viewer, title="Viewer's task")
    _add(client_of(lead), worked, approver, title="Approver's task")
    mine = FollowUp.objects.get(owner=viewer)
    theirs = FollowUp.objects.get(owner=approver)
    client = client_of(viewer)
    page = client.get(_url(worked)).content.decode()
    assert f"follow-ups/{mine.pk}/done/" in page and f"follow-ups/{theirs.pk}/done/" not in page
    refused = client.post(_url(worked, f"follow-ups/{theirs.pk}/done/"), {"done": "1"})
    assert refused.status_code == 403
    assert (
        client.post(_url(worked, f"follow-ups/{mine.pk}/done/"), {"done": "1"}).status_code == 302
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.is_done and mine.done_by_name == "vic" and not theirs.is_done


def test_a_manager_reads_but_does_not_write_and_an_outsider_sees_nothing(
    worked, client_of, manager, outsider
):
    section = _section(worked)
    assert client_of(manager).get(_url(worked)).status_code == 200
    refused = client_of(manager).post(_url(worked, f"sections/{section.pk}/"), {"body": "x"})
    assert refused.status_code == 403 and b"Only the lead and engineers" in refused.content
    assert client_of(outsider).get(_url(worked)).status_code == 404
    assert (
        client_of(outsider).post(_url(worked, f"sections/{section.pk}/"), {"body": "x"}).status_code
        == 404
    )
    section.refresh_from_db()
    assert section.body == ""


def test_user_text_is_escaped_on_the_retro_and_record_pages(worked, client_of, lead, viewer):
    section = _section(worked)
    client_of(lead).post(_url(worked, f"sections/{section.pk}/"), {"body": HOSTILE})
    _add(client_of(lead), worked, viewer, title=HOSTILE)
    page = client_of(viewer).get(_url(worked)).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    client_of(lead).post(_url(worked, "publish/"))
    record = client_of(viewer).get(f"/deployments/{worked.pk}/record/").content.decode()
    assert "<script>alert" not in record and "&lt;script&gt;alert" in record
    assert 'href="javascript' not in record


def test_follow_ups_are_owned_dated_linked_and_can_be_marked_done(
    worked, client_of, engineer, second_engineer
):
    client = client_of(engineer)
    response = _add(client, worked, second_engineer, link="https://tracker.example.com/PROJ-12")
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(deployment=worked)
    assert (follow_up.owner, follow_up.owner_name, str(follow_up.due_date), follow_up.link) == (
        second_engineer,
        "Sam Second",
        "2027-01-15",
        "https://tracker.example.com/PROJ-12",
    )
    page = client.get(_url(worked)).content.decode()
    assert 'class="follow-up-open"' in page and "https://tracker.example.com/PROJ-12" in page
    assert (
        client.post(_url(worked, f"follow-ups/{follow_up.pk}/done/"), {"done": "1"}).status_code
        == 302
    )
    follow_up.refresh_from_db()
    assert follow_up.is_done and follow_up.done_by_name == "erin"
    assert 'class="follow-up-done"' in client.get(_url(worked)).content.decode()
    client.post(_url(worked, f"follow-ups/{follow_up.pk}/done/"), {"done": "0"})
    follow_up.refresh_from_db()
    assert not follow_up.is_done
    assert _actions(worked) == [
        "retro.opened",
        "retro.follow_up_added",
        "retro.follow_up_done",
        "retro.follow_up_reopened",
    ]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"link": "javascript:alert(1)"}, b"http:// or https://"),
        ({"title": "   "}, b"needs a title"),
        ({"due_date": "next week"}, b"YYYY-MM-DD"),
        ({"owner": "999999"}, b"Choose an owner"),
        ({"owner": "x' OR 1=1"}, b"Choose an owner"),
    ],
)
def test_a_bad_follow_up_is_refused_with_the_reason(
    worked, client_of, engineer, lead, change, reason
):
    response = _add(client_of(engineer), worked, lead, **change)
    assert response.status_code == 400 and reason in response.content
    assert not FollowUp.objects.filter(deployment=worked).exists()


def test_the_owner_must_be_on_the_deployment(worked, client_of, engineer, outsider):
    response = _add(client_of(engineer), worked, outsider)
    assert response.status_code == 400
    assert not FollowUp.objects.exists()


def test_only_the_lead_or_a_manager_publishes(worked, client_of, engineer, manager, lead):
    refused = client_of(engineer).post(_url(worked, "publish/"))
    assert refused.status_code == 403
    assert Retrospective.objects.get(deployment=worked).status == "open"
    assert client_of(manager).post(_url(worked, "publish/")).status_code == 302
    retro = Retrospective.objects.get(deployment=worked)
    assert retro.status == "published" and retro.published_by_name == "Mona Manager"
    again = client_of(lead).post(_url(worked, "publish/"))
    assert again.status_code == 400 and b"published already" in again.content


def test_publishing_freezes_it_but_follow_ups_can_still_be_closed(
    worked, client_of, lead, engineer
):
    client = client_of(lead)
    section = _section(worked)
    client.post(_url(worked, f"sections/{section.pk}/"), {"body": "Good backups."})
    _add(client, worked, engineer)
    assert client.post(_url(worked, "publish/")).status_code == 302
    retro = Retrospective.objects.get(deployment=worked)
    assert retro.metrics == metrics_of(worked)  # frozen: the record's figures at publishing
    refused = client.post(_url(worked, f"sections/{section.pk}/"), {"body": "Changed"})
    assert refused.status_code == 400 and b"published" in refused.content
    section.refresh_from_db()
    assert section.body == "Good backups."
    assert _add(client, worked, engineer, title="Late idea").status_code == 400
    assert FollowUp.objects.filter(deployment=worked).count() == 1
    page = client.get(_url(worked)).content.decode()
    assert "<textarea" not in page and "Publish the retrospective" not in page
    follow_up = FollowUp.objects.get(deployment=worked)
    client_of(engineer).post(_url(worked, f"follow-ups/{follow_up.pk}/done/"), {"done": "1"})
    follow_up.refresh_from_db()
    assert follow_up.is_done
    published = AuditEvent.objects.get(deployment=worked, action="retro.published")
    assert published.after["sections"]["What went well"] == "Good backups."


def _publish_one(worked, client):
    section = _section(worked)
    client.post(_url(worked, f"sections/{section.pk}/"), {"body": "Backups were quick."})
    _add(client, worked, worked.lead, link="https://tracker.example.com/OPS-7")
    client.post(_url(worked, "publish/"))


def test_the_record_page_shows_the_published_retro_only(worked, client_of, lead, viewer):
    record = client_of(viewer).get(f"/deployments/{worked.pk}/record/").content.decode()
    assert 'id="retrospective"' not in record
    assert f'href="/deployments/{worked.pk}/retro/"' in record  # the link, while open
    _publish_one(worked, client_of(lead))
    record = client_of(viewer).get(f"/deployments/{worked.pk}/record/").content.decode()
    assert 'id="retrospective"' in record
    assert "Backups were quick." in record and "Alert on slow migrations" in record
    assert load_record(worked).retro.follow_ups_list[0].title == "Alert on slow migrations"


def test_the_run_page_links_to_the_retro(worked, client_of, viewer):
    page = client_of(viewer).get(f"/deployments/{worked.pk}/").content.decode()
    assert f'href="/deployments/{worked.pk}/retro/"' in page


def test_the_four_exports_carry_the_published_retro(worked, client_of, lead, viewer):
    client = client_of(viewer)
    before = json.loads(client.get(f"/deployments/{worked.pk}/export.json").content)
    assert before["retrospective"] is None
    _publish_one(worked, client_of(lead))
    data = json.loads(client.get(f"/deployments/{worked.pk}/export.json").content)
    retro = data["retrospective"]
    assert retro["sections"][0] == {"title": "What went well", "body": "Backups were quick."}
    assert retro["follow_ups"][0]["link"] == "https://tracker.example.com/OPS-7"
    assert retro["follow_ups"][0]["done"] is False
    assert retro["metrics"] == metrics_of(worked)

    markdown = client.get(f"/deployments/{worked.pk}/export.md").content.decode()
    assert "## Retrospective" in markdown and "> Backups were quick." in markdown
    assert "- Alert on slow migrations: " in markdown and "due 2027-01-15, open" in markdown
    assert "- Stale sign-offs: 2" in markdown
    # Re-imported as a template, the retro adds no item, phase or sign-off role: it
    # is kept as a note (plain bullets and quotes, never task items).
    reparsed = parse_checklist(markdown)
    without = parse_checklist(markdown.split("## Retrospective")[0])
    counts = reparsed.counts()
    assert counts == without.counts()
    assert any("Backups were quick." in note.body for note in reparsed.notes)

    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"/deployments/{worked.pk}/export.csv").content.decode())
        )
    )
    retro_rows = [r for r in rows if r["phase"] == "Retrospective"]
    assert {"section": "What went well", "item": "Backups were quick."}.items() <= retro_rows[
        0
    ].items()
    follow_up = next(r for r in retro_rows if r["section"] == "Follow-up actions")
    assert follow_up["item"] == "Alert on slow migrations" and follow_up["state"] == "open"
    stale = next(r for r in retro_rows if r["item"] == "Stale sign-offs")
    assert stale["notes"] == "2"

    pdf = client.get(f"/deployments/{worked.pk}/export.pdf")
    assert pdf.status_code == 200
    from tests.history.test_exports import pdf_text

    text = pdf_text(pdf.content)
    assert "Retrospective" in text and "Backups were quick." in text


def test_changes_need_a_csrf_token(worked, lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    section = _section(worked)
    assert client.post(_url(worked, f"sections/{section.pk}/"), {"body": "x"}).status_code == 403
    assert client.post(_url(worked, "publish/")).status_code == 403
    assert Retrospective.objects.get(deployment=worked).status == "open"


def test_a_deployment_without_a_retro_has_no_page(deployment, client_of, lead):
    assert client_of(lead).get(_url(deployment)).status_code == 404
    page = client_of(lead).get(f"/deployments/{deployment.pk}/").content.decode()
    assert "/retro/" not in page
