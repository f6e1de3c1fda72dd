"""The database itself refuses to change or remove audit events (PostgreSQL)."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import record_event, verify_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(engineer):
    return record_event(
        action="item.ticked",
        actor=engineer,
        target_repr="Backups verified",
        before={"state": "open"},
        after={"state": "done"},
    )


def assert_refused(change):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change()


def test_save_of_an_existing_event_is_refused(event):
    event.after = {"state": "open"}

    assert_refused(event.save)


def test_queryset_update_is_refused(event):
    assert_refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor_name="mallory"))


def test_reassigning_the_actor_is_refused(event, outsider):
    assert_refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(actor=outsider))


def test_clearing_the_actor_together_with_another_change_is_refused(event):
    assert_refused(
        lambda: AuditEvent.objects.filter(pk=event.pk).update(actor=None, action="item.forged")
    )


def test_delete_is_refused(event):
    assert_refused(event.delete)
    assert_refused(AuditEvent.objects.all().delete)

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def truncate(table, cascade=False):
    with connection.cursor() as cursor:
        # The test's own inserts leave deferred FK checks pending, and PostgreSQL
        # refuses TRUNCATE before it reaches the trigger while any are.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {table}{' CASCADE' if cascade else ''}")


def test_truncate_is_refused(event):
    assert_refused(lambda: truncate("audit_auditevent"))
    assert AuditEvent.objects.count() == 1


def test_truncate_cascading_from_another_table_is_refused(event):
    assert_refused(lambda: truncate("auth_user", cascade=True))
    assert AuditEvent.objects.count() == 1


def test_truncating_the_empty_table_is_allowed():
    # Django's flush, which transactional tests run, truncates every table.
    truncate("audit_auditevent")


def test_deleting_the_actor_keeps_the_event_and_its_name(event, engineer):
    engineer.delete()

    event.refresh_from_db()
    assert event.actor_id is None
    assert event.actor_name == "erin"
    assert verify_chain().ok


def test_deployment_with_audit_events_cannot_be_deleted(engineer):
    from deploychecks.checklists.models import ChecklistTemplate, TemplateRevision
    from deploychecks.runs.models import Deployment

    template = ChecklistTemplate.objects.create(name="Production deployment")
    revision = TemplateRevision.objects.create(template=template, number=1)
    deployment = Deployment.objects.create(
        revision=revision,
        template_name=template.name,
        release_name="Spring",
        version="2.0.0",
        service="billing",
    )
    event = record_event(
        action="deployment.created", actor=engineer, deployment=deployment, seq=1, target=deployment
    )

    with pytest.raises(ProtectedError):
        deployment.delete()

    assert AuditEvent.objects.filter(pk=event.pk, deployment=deployment, seq=1).exists()
    assert event.target_type == "runs.deployment"
    assert event.target_repr == "billing 2.0.0 (Spring)"
