"""A retrospective opens when a deployment completes or is rolled back, exactly once."""

import pytest

from deploychecks.audit.models import AuditEvent
from deploychecks.retros.models import DEFAULT_SECTIONS, Retrospective
from deploychecks.retros.services import open_retro
from deploychecks.runs.services import change_status
from tests.gates import go_live, override, ready_to_complete

pytestmark = pytest.mark.django_db


def _opened(deployment) -> int:
    return AuditEvent.objects.filter(deployment=deployment, action="retro.opened").count()


def test_no_retro_while_running(deployment, lead):
    go_live(deployment, lead)
    assert not Retrospective.objects.filter(deployment=deployment).exists()


def test_opens_once_on_completion_with_the_default_sections(deployment, lead):
    go_live(deployment, lead)
    ready_to_complete(deployment)
    override(deployment, lead, "completed", "The approvers are away; the CTO said go")
    deployment.refresh_from_db()
    assert deployment.status == "completed"
    retro = Retrospective.objects.get(deployment=deployment)
    assert retro.outcome == "completed" and retro.status == "open"
    assert [s.title for s in retro.sections.all()] == list(DEFAULT_SECTIONS)
    assert _opened(deployment) == 1
    # Opening again (a second finish can only come from code): nothing new.
    assert open_retro(deployment, outcome="completed") is None
    assert Retrospective.objects.filter(deployment=deployment).count() == 1
    assert _opened(deployment) == 1


def test_opens_once_on_rollback(worked):
    retro = Retrospective.objects.get(deployment=worked)
    assert retro.outcome == "rolled_back"
    assert _opened(worked) == 1
    event = AuditEvent.objects.get(deployment=worked, action="retro.opened")
    # In the same transaction as the status change, after it.
    status = AuditEvent.objects.filter(
        deployment=worked, action="deployment.status", after__status="rolled_back"
    ).get()
    assert event.seq > status.seq


def test_no_retro_when_aborted(deployment, lead):
    change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    change_status(deployment_id=deployment.pk, to="aborted", user=lead)
    assert not Retrospective.objects.filter(deployment=deployment).exists()


def test_show_hooks_lists_the_retro_after_the_rollback_closes():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("show_hooks", stdout=out, no_color=True)
    listed: dict[str, list[str]] = {}
    event = ""
    for line in out.getvalue().splitlines():
        if line.startswith("  "):
            listed[event].append(line.strip())
        else:
            event = line
            listed[event] = []
    changed = listed["status changed"]
    # The rollback episode is closed (its timing audited) before the retro opens.
    assert changed.index("deploychecks.gonogo.rollback.status_changed") < changed.index(
        "deploychecks.retros.services.open_on_finish"
    )
    assert listed["retrospective metrics (from the record)"] == [
        "deploychecks.history.retro_metrics.deployment_metrics"
    ]


RETRO_HEADING = """## Retrospective

- **Timeline**
- Customer impact
  (who noticed, and how)
- Timeline
1. Actions

## Approval sign-off"""


def test_a_template_declares_its_sections_under_a_retrospective_heading(
    lead, engineer, second_engineer, viewer, approver
):
    from deploychecks.checklists.exporter import export_markdown
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import load_parsed, save_template
    from deploychecks.gonogo.rollback import start_rollback
    from deploychecks.runs.services import create_deployment
    from tests.history.worked import TEMPLATE, tick

    source = TEMPLATE.replace("## Approval sign-off", RETRO_HEADING)
    revision = save_template(parse_checklist(source), source=source)
    # The template export writes the heading back; importing that gives the same note.
    exported = export_markdown(load_parsed(revision))
    assert "## Retrospective\n" in exported and "- Customer impact" in exported
    again = parse_checklist(exported)
    assert [(n.title, n.body) for n in again.notes] == [
        (n.title, n.body) for n in parse_checklist(source).notes
    ]

    d = create_deployment(
        revision,
        user=lead,
        release_name="R",
        version="1.0",
        service="svc",
        lead=lead,
        engineers=[engineer, second_engineer],
        approvers={approver: "QA Lead"},
        viewers=[viewer],
    )
    go_live(d, lead)
    start_rollback(deployment_id=d.pk, reason="Errors", user=engineer)
    tick(d, "Redeploy the previous version", engineer)
    retro = Retrospective.objects.get(deployment=d)
    assert [s.title for s in retro.sections.all()] == ["Timeline", "Customer impact", "Actions"]
    event = AuditEvent.objects.get(deployment=d, action="retro.opened")
    assert event.after["sections"] == ["Timeline", "Customer impact", "Actions"]
