"""What goes into the outbox: every event type, numbered per deployment, in the order
things happened, only for those who subscribed and may see the deployment."""

import pytest

from deploychecks.core.errors import RunError
from deploychecks.runs import hooks
from deploychecks.runs.models import Participant, RunItem
from deploychecks.webhooks import services
from deploychecks.webhooks.catalog import EVENT_TYPES
from deploychecks.webhooks.models import Delivery, Event, GateState
from tests.webhooks import scenario

pytestmark = pytest.mark.django_db

HOOK = "http://127.0.0.1:9/hook"


def _types(deployment) -> list[str]:
    return list(
        Event.objects.filter(deployment=deployment)
        .order_by("sequence")
        .values_list("type", flat=True)
    )


def test_nothing_is_written_when_nobody_subscribes(deployment, lead, engineer):
    scenario.start(deployment, lead)
    scenario.tick(deployment, deployment.items.first(), engineer)

    assert not Event.objects.exists() and not Delivery.objects.exists()


def test_every_event_type_is_written_once_per_change_in_order(
    subscribe, revision, lead, engineer, approver
):
    subscription = subscribe(HOOK)
    scenario.one_reminder(revision)
    deployment = scenario.create(
        revision, lead, engineers=[engineer], approvers={approver: "QA Lead"}
    )

    scenario.every_event(deployment, lead=lead, engineer=engineer, approver=approver)

    types = _types(deployment)
    steps = RunItem.objects.filter(
        deployment=deployment, phase__is_rollback=True, step__isnull=False
    )
    step_count = steps.values("step").distinct().count()
    assert types == [
        "deployment.created",
        "deployment.status_changed",
        "item.changed",
        "gate.opened",
        "signoff.changed",
        "verdict.changed",
        "verdict.changed",
        "gate.opened",
        "deployment.status_changed",
        "reminder.sent",
        "status_update.posted",
        "item.changed",
        "signoff.changed",
        "rollback.started",
        *_rollback_ticks(deployment),
        "deployment.status_changed",
        "rollback.finished",
    ]
    assert set(types) == set(EVENT_TYPES)
    assert types.count("rollback.step_done") == step_count
    events = list(Event.objects.filter(deployment=deployment).order_by("sequence"))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert [e.payload["sequence"] for e in events] == [e.sequence for e in events]
    deliveries = Delivery.objects.filter(subscription=subscription)
    assert sorted(deliveries.values_list("sequence", flat=True)) == [e.sequence for e in events]
    assert set(deliveries.values_list("status", flat=True)) == {"pending"}


def _rollback_ticks(deployment) -> list[str]:
    """item.changed per rollback step item, and rollback.step_done after each step's last one."""
    items = list(
        RunItem.objects.filter(deployment=deployment, phase__is_rollback=True, step__isnull=False)
        .order_by("position")
        .values_list("step_id", flat=True)
    )
    expected = []
    for index, step in enumerate(items):
        expected.append("item.changed")
        if index + 1 == len(items) or items[index + 1] != step:
            expected.append("rollback.step_done")
    return expected


def test_payloads_say_what_happened_and_where(subscribe, deployment, lead, engineer, approver):
    subscribe(HOOK)
    scenario.start(deployment, lead)
    item = scenario.pre_go_live_items(deployment).first()
    scenario.tick(deployment, item, engineer)
    scenario.reading(deployment, engineer, 1)

    changed = Event.objects.get(type="item.changed").payload
    assert changed["deployment"] == {
        "id": deployment.pk,
        "release": "Spring release",
        "service": "checkout-api",
        "environment": "production",
        "version": "2.0.0",
        "previous_version": "1.1.0",
        "status": "in_progress",
        "lead": "Lena Lead",
        "url": f"https://deploychecks.example.com/deployments/{deployment.pk}/",
    }
    assert changed["item"]["id"] == item.pk and changed["item"]["state"] == "done"
    assert changed["item"]["changed_by"] == "erin" and changed["subcheck"] is None
    assert changed["summary"] == f"“{item.title}” was ticked by erin"
    status = Event.objects.get(type="deployment.status_changed").payload
    assert (status["from"], status["to"]) == ("planned", "in_progress")
    assert status["summary"] == "Status: Planned → In progress (by Lena Lead)"
    verdict = Event.objects.get(type="verdict.changed").payload
    assert (verdict["from"], verdict["to"]) == ("none", "red")
    assert verdict["summary"].startswith("Verdict NONE → RED: ")


def test_an_item_change_is_told_before_the_sign_off_it_made_stale(
    subscribe, deployment, lead, engineer, approver
):
    scenario.start(deployment, lead)
    scenario.approve(deployment, approver)
    subscribe(HOOK)

    scenario.tick(deployment, scenario.pre_go_live_items(deployment).first(), engineer)

    assert _types(deployment) == ["item.changed", "signoff.changed"]
    stale = Event.objects.get(type="signoff.changed").payload
    assert stale["signoff"]["status"] == "stale" and stale["signoff"]["role"] == "QA Lead"
    assert stale["summary"].startswith("quinn’s QA Lead sign-off is stale: ")


def test_gate_opened_is_told_only_when_the_gate_goes_from_closed_to_open(
    subscribe, deployment, lead, engineer
):
    subscribe(HOOK, event_types=["gate.opened"])
    scenario.start(deployment, lead)
    last = scenario.tick_all_but_last_before_go_live(deployment)
    assert GateState.objects.get(deployment=deployment).is_open is False

    scenario.tick(deployment, last, engineer)  # closed → open
    scenario.tick(deployment, scenario.first_after_go_live_item(deployment), engineer)  # open
    scenario.tick(deployment, last, engineer, state="open")  # open → closed
    scenario.tick(deployment, last, engineer)  # closed → open again

    opened = Event.objects.filter(deployment=deployment, type="gate.opened")
    assert opened.count() == 2
    assert opened.first().payload["for"] == "go-live"
    assert opened.first().payload["summary"] == "The gate is open: it can go live now"


def test_a_gate_nobody_judged_before_is_only_remembered(subscribe, deployment, lead, engineer):
    scenario.start(deployment, lead)  # nobody listens yet: no state kept
    last = scenario.tick_all_but_last_before_go_live(deployment)
    scenario.tick(deployment, last, engineer)
    subscribe(HOOK, event_types=["gate.opened"])

    scenario.tick(deployment, scenario.first_after_go_live_item(deployment), engineer)

    assert not Event.objects.filter(type="gate.opened").exists()
    assert GateState.objects.get(deployment=deployment).is_open is True


def test_a_subscription_gets_only_the_event_types_it_chose(subscribe, deployment, lead, engineer):
    subscribe(HOOK, event_types=["deployment.status_changed"])
    scenario.start(deployment, lead)
    scenario.tick(deployment, deployment.items.first(), engineer)

    assert _types(deployment) == ["deployment.status_changed"]


def test_a_leads_subscription_carries_only_deployments_they_may_see(
    subscribe, revision, leading, deployment, make_user, engineer
):
    subscription = subscribe(HOOK, user=leading, service="checkout-api")
    other_lead = make_user("olga")
    hidden = scenario.create(revision, other_lead, version="3.0.0")
    shown = scenario.create(revision, other_lead, engineers=[leading], version="3.1.0")
    elsewhere = scenario.create(revision, leading, version="1.0.0", service="billing")

    for each in (deployment, hidden, shown, elsewhere):
        scenario.start(each, each.lead)

    delivered_to = set(
        Delivery.objects.filter(subscription=subscription).values_list("deployment_id", flat=True)
    )
    assert delivered_to == {deployment.pk, shown.pk}
    # Taken off the team: nothing more from that deployment.
    Participant.objects.filter(deployment=shown, user=leading).delete()
    scenario.tick(shown, shown.items.first(), other_lead)
    assert not Delivery.objects.filter(
        subscription=subscription, deployment=shown, event__type="item.changed"
    ).exists()


def test_a_disabled_subscription_gets_nothing(subscribe, admin_user, deployment, lead):
    subscription = subscribe(HOOK)
    services.set_active(subscription_id=subscription.pk, user=admin_user, active=False)

    scenario.start(deployment, lead)

    assert not Delivery.objects.exists()


def test_an_event_is_written_only_if_its_change_commits(subscribe, deployment, lead, engineer):
    subscribe(HOOK)
    scenario.start(deployment, lead)

    def refuse(event):
        raise RunError("Not today.")

    hooks.item_changed.connect(refuse)
    try:
        with pytest.raises(RunError):
            scenario.tick(deployment, deployment.items.first(), engineer)
    finally:
        hooks.item_changed.disconnect(refuse)

    assert _types(deployment) == ["deployment.status_changed"]
