import pytest

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.models import Item
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.runs import services
from deploychecks.runs.models import Deployment, RunItem, RunSubCheck
from tests.gates import ready_to_complete, tick_needed

pytestmark = pytest.mark.django_db


def test_creating_a_deployment_snapshots_the_whole_revision(deployment, revision):
    template_items = Item.objects.filter(phase__revision=revision)
    assert deployment.items.count() == template_items.count() == 89
    assert RunSubCheck.objects.filter(item__deployment=deployment).count() == 27
    assert deployment.phases.count() == 6
    assert [s.minutes for s in deployment.phases.get(is_rollback=True).steps.all()] == [
        2,
        5,
        10,
        5,
        5,
        3,
        1,
    ]
    assert list(deployment.signoff_roles.values_list("name", flat=True)) == [
        "Engineering Manager",
        "DevOps Lead",
        "Product Manager",
        "QA Lead",
    ]
    assert deployment.contacts.count() == 5
    assert (deployment.release_name, deployment.version, deployment.previous_version) == (
        "Spring release",
        "2.0.0",
        "1.1.0",
    )


def test_later_template_revisions_do_not_change_a_deployment(deployment, revision, lead):
    titles_before = list(deployment.items.values_list("title", flat=True))
    parsed = parse_checklist("# Production deployment\n\n## Only phase\n\n- [ ] **New item**\n")
    save_template(parsed, template=revision.template, user=lead)
    deployment.refresh_from_db()
    assert list(deployment.items.values_list("title", flat=True)) == titles_before
    assert deployment.revision_id == revision.pk


def test_ticking_sets_done_records_who_and_audits(deployment, first_item, engineer):
    change = services.set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    first_item.refresh_from_db()
    assert change.changed and first_item.state == "done" and first_item.version == 2
    assert first_item.changed_by == engineer and first_item.changed_by_name == "erin"
    event = AuditEvent.objects.get(deployment=deployment, action="item.ticked")
    assert event.seq == change.seq == Deployment.objects.get(pk=deployment.pk).seq
    assert event.before["state"] == "open" and event.after["state"] == "done"


def test_a_retried_tick_is_a_no_op_not_an_undo(deployment, first_item, engineer):
    for _ in range(2):
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="done",
            expected_version=1,
            user=engineer,
        )
    first_item.refresh_from_db()
    assert first_item.state == "done" and first_item.version == 2
    assert AuditEvent.objects.filter(action="item.ticked").count() == 1


def test_a_stale_version_is_refused_with_the_current_state(
    deployment, first_item, engineer, second_engineer
):
    services.set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    with pytest.raises(services.StaleVersion) as caught:
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="na",
            reason="not needed",
            expected_version=1,
            user=second_engineer,
        )
    assert caught.value.status_code == 409
    assert caught.value.current.state == "done"
    first_item.refresh_from_db()
    assert first_item.state == "done"


def test_na_needs_a_reason(deployment, first_item, engineer):
    with pytest.raises(services.RunError, match="reason"):
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="na",
            reason="  ",
            expected_version=1,
            user=engineer,
        )
    services.set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="na",
        reason="Feature flag off in this region",
        expected_version=1,
        user=engineer,
    )
    first_item.refresh_from_db()
    assert first_item.state == "na" and first_item.na_reason == "Feature flag off in this region"


@pytest.mark.parametrize("who", ["viewer", "approver", "outsider"])
def test_only_lead_and_engineers_change_items(request, deployment, first_item, who):
    user = request.getfixturevalue(who)
    with pytest.raises(services.NotAllowed):
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="done",
            expected_version=1,
            user=user,
        )
    first_item.refresh_from_db()
    assert first_item.state == "open"


def test_subchecks_and_notes(deployment, engineer):
    sub = RunSubCheck.objects.filter(item__deployment=deployment).first()
    services.set_subcheck_state(
        deployment_id=deployment.pk,
        subcheck_id=sub.pk,
        done=True,
        expected_version=1,
        user=engineer,
    )
    services.add_item_note(
        deployment_id=deployment.pk,
        item_id=sub.item_id,
        body="Login took 3 s, within budget",
        kind="deviation",
        user=engineer,
    )
    sub.refresh_from_db()
    assert sub.done and sub.changed_by_name == "erin"
    note = sub.item.notes.get()
    assert (note.kind, note.author_name) == ("deviation", "erin")
    assert AuditEvent.objects.filter(deployment=deployment, action="deviation.added").exists()
    with pytest.raises(services.RunError):
        services.add_item_note(
            deployment_id=deployment.pk, item_id=sub.item_id, body="   ", user=engineer
        )


def test_status_follows_the_state_machine(deployment, lead):
    # Without sign-off roles the approval gate (tests/signoffs) asks for nothing;
    # the checklist's own gate is tested in tests/runs/test_gates.py.
    deployment.signoff_roles.all().delete()

    def move(to):
        return services.change_status(deployment_id=deployment.pk, to=to, user=lead)

    with pytest.raises(services.IllegalTransition, match="cannot become completed"):
        move("completed")
    move("in_progress")
    tick_needed(deployment, "monitoring")
    move("monitoring")
    deployment.refresh_from_db()
    assert deployment.status == "monitoring" and deployment.go_live_at is not None
    with pytest.raises(services.IllegalTransition):
        move("planned")
    ready_to_complete(deployment)
    move("completed")
    deployment.refresh_from_db()
    assert deployment.ended_at is not None
    statuses = list(
        AuditEvent.objects.filter(deployment=deployment, action="deployment.status")
        .order_by("seq")
        .values_list("after__status", flat=True)
    )
    assert statuses == ["in_progress", "monitoring", "completed"]


def test_a_finished_deployment_is_closed_for_edits(deployment, lead, first_item):
    services.change_status(deployment_id=deployment.pk, to="aborted", user=lead)
    with pytest.raises(services.NotAllowed, match="closed"):
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="done",
            expected_version=1,
            user=lead,
        )


def test_every_change_gets_the_next_sequence_number(deployment, engineer):
    items = list(RunItem.objects.filter(deployment=deployment)[:3])
    seqs = [
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=i.pk,
            state="done",
            expected_version=1,
            user=engineer,
        ).seq
        for i in items
    ]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
