"""Editing a template's thresholds: admins only, validated, copied into new deployments."""

from deploychecks.gonogo.models import SignalDefinition
from deploychecks.runs.services import create_deployment


def _formset(rows):
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "30",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"form-{i}-{key}"] = value
    return data


ERROR_RATE = {
    "name": "Error rate",
    "unit": "%",
    "kind": "number",
    "direction": "above",
    "yellow_at": "0.3",
    "yellow_inclusive": "on",
    "red_at": "0.8",
    "sustained_minutes": "3",
}


def test_an_admin_edits_thresholds_and_new_deployments_use_them(
    admin_client, revision, lead, deployment
):
    url = f"/templates/{revision.template_id}/signals/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "p95 latency" in page.content.decode()
    response = admin_client.post(url, _formset([ERROR_RATE]))
    assert response.status_code == 302
    assert list(SignalDefinition.objects.values_list("name", "red_at")) == [("Error rate", 0.8)]
    fresh = create_deployment(
        revision, user=lead, release_name="Next", version="3", service="checkout-api", lead=lead
    )
    assert list(fresh.signals.values_list("red_at", "sustained_minutes")) == [(0.8, 3)]
    # The running deployment keeps what it started with.
    assert deployment.signals.count() == 4


def test_inverted_and_overlapping_ranges_are_refused_with_a_message(admin_client, revision):
    url = f"/templates/{revision.template_id}/signals/"
    admin_client.get(url)
    inverted = admin_client.post(url, _formset([{**ERROR_RATE, "yellow_at": "2"}]))
    assert inverted.status_code == 422
    assert "ranges are inverted" in inverted.content.decode()
    overlap = admin_client.post(
        url, _formset([{**ERROR_RATE, "yellow_at": "0.8", "red_inclusive": "on"}])
    )
    assert overlap.status_code == 422 and "ranges overlap" in overlap.content.decode()
    twice = admin_client.post(url, _formset([ERROR_RATE, ERROR_RATE]))
    assert twice.status_code == 422 and "used twice: error rate" in twice.content.decode()
    assert SignalDefinition.objects.count() == 4  # the seed's, untouched


def test_people_without_the_template_permission_cannot_edit(engineer_client, revision):
    url = f"/templates/{revision.template_id}/signals/"
    assert engineer_client.get(url).status_code == 403
    assert engineer_client.post(url, _formset([ERROR_RATE])).status_code == 403


def test_a_new_revision_inherits_the_edited_thresholds(admin_client, admin_user, revision):
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template
    from deploychecks.gonogo.definitions import definitions_for

    admin_client.post(f"/templates/{revision.template_id}/signals/", _formset([ERROR_RATE]))
    source = revision.source_markdown.replace("Tick items", "Tick the items")
    newer = save_template(
        parse_checklist(source), source=source, template=revision.template, user=admin_user
    )
    assert newer.number == revision.number + 1
    assert [d.red_at for d in definitions_for(newer)] == [0.8]


def test_a_template_without_a_go_no_go_table_has_no_signals(lead):
    from deploychecks.checklists.parser import parse_checklist
    from deploychecks.checklists.services import save_template

    small = save_template(parse_checklist("# Tiny\n\n## Phase\n\n- [ ] **One**\n"), user=lead)
    tiny = create_deployment(
        small, user=lead, release_name="T", version="1", service="s", lead=lead
    )
    assert not tiny.signals.exists()
