"""Gates that hold: going live and completing refuse what is not ready, name every
unmet condition at once, and give way only to an audited override."""

import pytest
from django.test import Client

from deploychecks.audit.models import AuditEvent
from deploychecks.gonogo.rollback import start_rollback
from deploychecks.gonogo.services import record_reading
from deploychecks.runs import status
from deploychecks.runs.models import GateOverride, RunItem
from deploychecks.runs.services import GateClosed, IllegalTransition, NotAllowed, set_item_state
from tests.gates import confirmed_request, override, ready_to_complete, tick_needed

pytestmark = pytest.mark.django_db


def test_the_seed_template_gets_its_stages_and_window(revision):
    phases = list(revision.phases.order_by("position").values_list("stage", flat=True))
    assert phases == ["before", "before", "after", "after", "after", "rollback"]
    assert revision.monitoring_hours == 72


# --- Going live ---------------------------------------------------------------------


def _start(deployment, lead):
    status.change_status(deployment_id=deployment.pk, to="in_progress", user=lead)
    deployment.refresh_from_db()


def test_going_live_with_an_open_pre_go_live_item_is_refused_with_it(deployment, lead):
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    left = RunItem.objects.filter(deployment=deployment, phase__stage="before").first()
    RunItem.objects.filter(pk=left.pk).update(state="open")

    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)

    assert [u.key for u in refused.value.unmet] == [f"item:{left.pk}"]
    assert "cannot be taken live yet" in refused.value.message
    deployment.refresh_from_db()
    assert deployment.status == "in_progress" and deployment.go_live_at is None


def test_a_refusal_names_every_open_item_at_once(deployment, lead):
    _start(deployment, lead)
    before = RunItem.objects.filter(deployment=deployment, phase__stage="before").count()
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    items = [c for c in refused.value.unmet if c.kind == "items"]
    assert len(items) == before == 32  # phases 1 and 2 of the seed
    assert f"and {before - 5} more" in refused.value.message


def test_going_live_on_a_red_verdict_is_refused(deployment, lead, engineer):
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    record_reading(
        deployment_id=deployment.pk, signal_name="Data corruption", value="yes", user=engineer
    )
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    (red,) = refused.value.unmet
    assert red.key == "verdict:red" and red.overridable
    assert red.label.startswith("RED: Data corruption")


def test_going_live_on_a_yellow_verdict_needs_a_typed_acknowledgement(deployment, lead, engineer):
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    record_reading(deployment_id=deployment.pk, signal_name="Error rate", value=0.7, user=engineer)
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    assert [u.key for u in refused.value.unmet] == ["verdict:yellow"]

    status.change_status(
        deployment_id=deployment.pk,
        to="monitoring",
        user=lead,
        acknowledgement="  Error rate checked:   a known retry storm  ",
    )
    event = AuditEvent.objects.filter(action="deployment.status").latest("seq")
    assert event.after["acknowledgement"] == "Error rate checked: a known retry storm"


def test_nothing_goes_live_completes_or_aborts_during_a_rollback(deployment, lead, engineer):
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    start_rollback(deployment_id=deployment.pk, reason="Errors after deploy", user=engineer)
    for to in ("monitoring", "aborted"):
        with pytest.raises(GateClosed) as refused:
            status.change_status(deployment_id=deployment.pk, to=to, user=lead)
        (rollback,) = [u for u in refused.value.unmet if u.kind == "rollback"]
        assert not rollback.overridable
    # Not even an override goes past it.
    with pytest.raises(GateClosed, match="This cannot be overridden"):
        override(deployment, lead, "monitoring", "We know better")
    # Its end is allowed.
    status.change_status(deployment_id=deployment.pk, to="rolled_back", user=lead)
    deployment.refresh_from_db()
    assert deployment.status == "rolled_back"


def test_a_rollback_starts_from_in_progress_or_monitoring_only(deployment, lead, engineer):
    with pytest.raises(Exception, match="cannot be rolled back"):
        start_rollback(deployment_id=deployment.pk, reason="Too early", user=engineer)


def test_sign_offs_marked_for_go_live_are_needed_to_go_live(deployment, lead):
    qa = deployment.signoff_roles.get(name="QA Lead")
    qa.before_go_live = True
    qa.save(update_fields=["before_go_live"])
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)
    assert [u.key for u in refused.value.unmet] == [f"signoff:{qa.pk}"]


# --- Completing ---------------------------------------------------------------------


def test_completing_with_open_items_and_early_is_refused_with_both(live_deployment, lead):
    d = live_deployment
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=d.pk, to="completed", user=lead)
    kinds = {u.kind for u in refused.value.unmet}
    assert {"items", "window", "signoff"} <= kinds
    after = RunItem.objects.filter(deployment=d, phase__stage="after", state="open").count()
    assert len([u for u in refused.value.unmet if u.kind == "items"]) == after
    d.refresh_from_db()
    assert d.status == "monitoring"


def test_completing_early_is_an_override(live_deployment, lead):
    d = live_deployment
    tick_needed(d, "completed")
    d.signoff_roles.all().delete()
    with pytest.raises(GateClosed) as refused:
        status.change_status(deployment_id=d.pk, to="completed", user=lead)
    assert [u.key for u in refused.value.unmet] == ["window"]

    override(d, lead, "completed", "Hotfix verified; no need to watch 72 h")

    d.refresh_from_db()
    record = GateOverride.objects.get(deployment=d)
    assert d.status == "completed" and record.conditions[0]["key"] == "window"


def test_a_ready_deployment_completes_without_override(live_deployment, lead):
    ready_to_complete(live_deployment)
    live_deployment.signoff_roles.all().delete()
    status.change_status(deployment_id=live_deployment.pk, to="completed", user=lead)
    live_deployment.refresh_from_db()
    assert live_deployment.status == "completed" and not GateOverride.objects.exists()


# --- Overrides ----------------------------------------------------------------------


def test_an_override_of_going_live_names_exactly_what_it_went_past(deployment, lead, engineer):
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    open_item = RunItem.objects.filter(deployment=deployment, phase__stage="before").first()
    RunItem.objects.filter(pk=open_item.pk).update(state="open")
    record_reading(
        deployment_id=deployment.pk, signal_name="Data corruption", value="yes", user=engineer
    )

    override(deployment, lead, "monitoring", "Known corruption in a test tenant only")

    deployment.refresh_from_db()
    assert deployment.status == "monitoring"
    record = GateOverride.objects.get()
    assert [c["key"] for c in record.conditions] == [f"item:{open_item.pk}", "verdict:red"]
    event = AuditEvent.objects.get(action="deployment.override")
    assert (
        event.after["to"] == "monitoring"
        and event.seq + 1
        == AuditEvent.objects.get(action="deployment.status", after__status="monitoring").seq
    )


def test_an_engineer_cannot_override(deployment, lead, engineer):
    _start(deployment, lead)
    with pytest.raises(NotAllowed, match="Only the lead of this deployment or an admin"):
        override(deployment, engineer, "monitoring", "Trust me")


def test_the_override_never_reaches_the_public_status_page(live_deployment, lead):
    from deploychecks.statuspage import services as statuspage

    page = statuspage.enable(deployment_id=live_deployment.pk, user=lead)
    override(live_deployment, lead, "completed", "SECRET-REASON for the record only")
    html = Client().get(f"/status/{page.token}/").content.decode()
    assert "Operational" in html
    assert "SECRET-REASON" not in html and "overrid" not in html.lower()


# --- The page and the API answer -------------------------------------------------------


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_run_page_shows_what_going_live_needs_with_links(deployment, lead):
    _start(deployment, lead)
    html = _client(lead).get(deployment.get_absolute_url()).content.decode()
    first = (
        RunItem.objects.filter(deployment=deployment, phase__stage="before")
        .order_by("phase__position", "position")
        .first()
    )
    assert 'id="gate-monitoring"' in html and "Going live needs" in html
    assert f'href="#item-{first.pk}"' in html
    assert 'id="override-monitoring-form"' in html  # the lead may override


def test_a_refused_status_change_answers_json_with_every_reason(deployment, lead):
    _start(deployment, lead)
    response = _client(lead).post(
        f"/deployments/{deployment.pk}/status/",
        {"to": "monitoring"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"].startswith("This deployment cannot be taken live yet")
    assert body["unmet"][0]["key"].startswith("item:")
    assert {"key", "kind", "needs", "label", "anchor", "overridable"} == set(body["unmet"][0])


def test_an_htmx_refusal_shows_the_reason_in_the_page(deployment, lead):
    _start(deployment, lead)
    response = _client(lead).post(
        f"/deployments/{deployment.pk}/status/", {"to": "monitoring"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="status-error"' in html and "cannot be taken live yet" in html
    assert 'class="gate refused"' in html


def test_a_tick_cannot_be_undone_by_a_stale_gate(deployment, lead, engineer):
    """The gate reads the database under the deployment row lock: a tick that
    commits first is seen."""
    _start(deployment, lead)
    tick_needed(deployment, "monitoring")
    item = RunItem.objects.filter(deployment=deployment, phase__stage="before").first()
    RunItem.objects.filter(pk=item.pk).update(state="open")
    item.refresh_from_db()
    set_item_state(
        deployment_id=deployment.pk,
        item_id=item.pk,
        state="done",
        expected_version=item.version,
        user=engineer,
    )
    status.change_status(deployment_id=deployment.pk, to="monitoring", user=lead)


def test_an_override_of_nothing_is_refused_for_another_transition(deployment, lead):
    with pytest.raises(IllegalTransition, match="only applies to going live or completing"):
        status.change_status(
            deployment_id=deployment.pk,
            to="in_progress",
            user=lead,
            request=confirmed_request(lead),
            override_reason="x",
            override=["window"],
        )
