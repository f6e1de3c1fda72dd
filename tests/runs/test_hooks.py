"""Features join a deployment through runs.hooks: what runs does with their answers."""

from io import StringIO

import pytest
from django.core.management import call_command

from deploychecks.audit.models import AuditEvent
from deploychecks.runs import hooks, services
from deploychecks.runs.services import GateClosed
from tests.gates import tick_needed

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected():
    """Connect handlers for one test, and take them off again."""
    made = []

    def connect(hook, handler):
        hook.connect(handler)
        made.append((hook, handler))

    yield connect
    for hook, handler in made:
        hook.disconnect(handler)


def _start(deployment, user):
    services.change_status(deployment_id=deployment.pk, to="in_progress", user=user)
    deployment.refresh_from_db()


def test_a_refusal_names_every_guards_unmet_conditions_at_once(deployment, lead, connected):
    def backups(change):
        if change.to != "in_progress":
            return []
        return [
            hooks.Unmet(
                key="backup:orders", kind="backup", needs="a verified backup of", label="orders-db"
            ),
            hooks.Unmet(
                key="backup:billing",
                kind="backup",
                needs="a verified backup of",
                label="billing-db",
            ),
        ]

    def freeze(change):
        return [
            hooks.Unmet(
                key="freeze", kind="freeze", needs="the change freeze to end:", label="Friday"
            )
        ]

    connected(hooks.status_changing, backups)
    connected(hooks.status_changing, freeze)
    with pytest.raises(GateClosed) as refused:
        services.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)

    assert refused.value.message == (
        "This deployment cannot be started yet: it needs a verified backup of orders-db, "
        "billing-db; the change freeze to end: Friday."
    )
    assert [u.label for u in refused.value.unmet] == ["orders-db", "billing-db", "Friday"]
    deployment.refresh_from_db()
    assert deployment.status == "planned"
    assert not AuditEvent.objects.filter(action="deployment.status").exists()


def test_a_handler_that_raises_undoes_the_whole_change(deployment, engineer, first_item, connected):
    def refuse(event):
        raise services.RunError("Not today.")

    connected(hooks.item_changed, refuse)
    with pytest.raises(services.RunError, match="Not today"):
        services.set_item_state(
            deployment_id=deployment.pk,
            item_id=first_item.pk,
            state="done",
            expected_version=1,
            user=engineer,
        )
    first_item.refresh_from_db()
    deployment.refresh_from_db()
    assert first_item.state == "open" and first_item.version == 1
    assert deployment.seq == 1
    assert not AuditEvent.objects.filter(action="item.ticked").exists()


def test_an_item_change_may_move_the_deployment_on_once(
    deployment, lead, engineer, first_item, connected
):
    _start(deployment, lead)
    calls = []

    def abort_on_tick(event):
        calls.append(event.deployment.status)
        return hooks.AutoTransition(to="aborted", reason="The first item ends it.")

    connected(hooks.item_changed, abort_on_tick)
    services.set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )

    deployment.refresh_from_db()
    assert deployment.status == "aborted" and calls == ["in_progress"]
    status = AuditEvent.objects.filter(action="deployment.status").latest("seq")
    assert status.after == {"status": "aborted", "reason": "The first item ends it."}
    assert status.actor == engineer and status.seq == deployment.seq


def test_an_automatic_transition_the_status_does_not_allow_is_not_made(
    deployment, lead, engineer, first_item, connected
):
    _start(deployment, lead)
    connected(
        hooks.item_changed,
        lambda event: hooks.AutoTransition(to="completed", reason="Skipping monitoring"),
    )
    services.set_item_state(
        deployment_id=deployment.pk,
        item_id=first_item.pk,
        state="done",
        expected_version=1,
        user=engineer,
    )
    deployment.refresh_from_db()
    assert deployment.status == "in_progress"


def test_going_live_and_finishing_reach_their_handlers_in_order(deployment, lead, connected):
    seen = []
    connected(hooks.went_live, lambda change: seen.append(("went_live", change.to)))
    connected(hooks.finished, lambda change: seen.append(("finished", change.to)))
    connected(hooks.status_changed, lambda change: seen.append(("changed", change.to)))
    for to in ("in_progress", "monitoring", "aborted"):
        if to == "monitoring":
            tick_needed(deployment, to)
        services.change_status(deployment_id=deployment.pk, to=to, user=lead)
    assert seen == [
        ("changed", "in_progress"),
        ("went_live", "monitoring"),
        ("changed", "monitoring"),
        ("finished", "aborted"),
        ("changed", "aborted"),
    ]


def test_connecting_a_handler_twice_calls_it_once():
    hook = hooks.Hook("test hook")
    calls = []

    def handler(event):
        calls.append(event)

    hook.connect(handler)
    hook.connect(handler)
    hook.send("event")
    assert calls == ["event"]
    hooks.Hook.every.remove(hook)


def test_a_handler_connected_first_is_called_before_the_others():
    hook = hooks.Hook("test first")
    calls = []
    hook.connect(lambda event: calls.append("feature"))
    hook.connect(lambda event: calls.append("reporter"), first=True)
    hook.send("event")
    assert calls == ["reporter", "feature"]
    hooks.Hook.every.remove(hook)


def test_show_hooks_lists_what_each_feature_connected():
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
    # Under each event, its handlers in call order.
    # Webhooks tell the change first and judge the gate once the features had their say.
    assert listed["item or sub-check changed"] == [
        "deploychecks.webhooks.hooks.item_changed",
        "deploychecks.signoffs.hooks.invalidate_on_change",
        "deploychecks.gonogo.rollback.item_changed",
        "deploychecks.reminders.hooks.close_overdue",
        "deploychecks.owners.hooks.start_phase",
        "deploychecks.evidence.hooks.keep_api_evidence",
        "deploychecks.webhooks.hooks.judge_gate_after_item",
    ]
    assert listed["item about to be ticked (guards)"] == [
        "deploychecks.evidence.hooks.needs_evidence"
    ]
    assert listed["item row prefetches"] == ["deploychecks.evidence.hooks.item_evidence"]
    # The run page's slots, in the order the page shows them.
    assert listed["run page slot: header"] == ["reminders/bell_slot.html"]
    assert listed["run page slot: page-panels"] == [
        "statusupdates/panel.html#panel",
        "gonogo/panel.html",
        "signoffs/panel.html#panel",
        "owners/panel.html#panel",
        "retros/link.html",
    ]
    assert listed["run page slot: item-line-before-notes"] == ["owners/item_meta.html"]
    assert listed["run page slot: item-line"] == ["evidence/item_badge.html"]
    assert listed["run page slot: item-more"] == ["evidence/item.html"]
    assert listed["note text on the run page"] == ["deploychecks.mentions.parsing.highlight"]
    assert listed["status about to change (guards)"] == [
        "deploychecks.runs.gates.items_guard",
        "deploychecks.runs.gates.window_guard",
        "deploychecks.runs.gates.contacts_guard",
        "deploychecks.signoffs.hooks.signoff_guard",
        "deploychecks.gonogo.gate.gonogo_guard",
    ]
    assert "deploychecks.reminders.hooks.schedule" in listed["went live (monitoring)"]
    assert listed["rollback started"] == [
        "deploychecks.statuspage.services.publish_change",
        "deploychecks.webhooks.hooks.rollback_started",
    ]
    assert listed["sign-off given or gone stale"] == ["deploychecks.webhooks.hooks.signoff_changed"]
    assert listed["reminder sent"] == ["deploychecks.webhooks.hooks.reminder_sent"]
    assert listed["may change an item beyond their role"] == [
        "deploychecks.owners.hooks.owner_may_change"
    ]
    assert listed["reminder dispatch run starting"] == [
        "deploychecks.owners.hooks.remind_overdue",
        "deploychecks.statusupdates.cadence.remind_due",
    ]
    assert listed["status update posted"] == [
        "deploychecks.statuspage.services.publish_update",
        "deploychecks.webhooks.hooks.status_update_posted",
    ]
