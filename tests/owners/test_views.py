"""The run page's owners panel, "My items", and the "My work" page."""

import pytest
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.runs import services as runs
from tests.owners.conftest import item

pytestmark = pytest.mark.django_db


def _assign(client, deployment, item_id, owners, due="", htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        reverse("owners:assign", args=[deployment.pk]),
        {"item": item_id, "owners": owners, "due": due},
        headers=headers,
    )


def test_the_run_page_shows_owners_and_due_times_from_the_markdown(client, owned, engineer):
    client.force_login(engineer)

    page = client.get(reverse("runs:detail", args=[owned.pk])).content.decode()

    assert '<span class="owner"><bdi>@erin</bdi></span>' in page
    assert "Due 2h after window start" in page
    assert "My items (1)" in page
    assert 'id="owners-form"' not in page  # the lead's form only


def test_the_lead_changes_owners_from_the_run_page(client, owned, lead):
    client.force_login(lead)
    canary = item(owned, "Canary healthy")
    assert 'id="owners-form"' in client.get(reverse("runs:detail", args=[owned.pk])).text

    answer = _assign(client, owned, canary.pk, "@sam", due="none")

    assert answer.status_code == 200
    assert "“Canary healthy”: owners @sam" in answer.text
    canary.refresh_from_db()
    assert canary.owners == ["sam"] and canary.due_anchor == ""
    assert AuditEvent.objects.filter(action="item.owners_changed", actor=lead).count() == 1
    page = client.get(reverse("runs:detail", args=[owned.pk])).text
    assert '<span class="owner"><bdi>@sam</bdi></span>' in page


def test_a_bad_owner_comes_back_with_the_reason_and_what_was_typed(client, owned, lead):
    client.force_login(lead)
    canary = item(owned, "Canary healthy")

    answer = _assign(client, owned, canary.pk, "@sam @no/pe", due="soon")

    assert answer.status_code == 400
    assert 'role="alert"' in answer.text
    assert 'value="@sam @no/pe"' in answer.text
    canary.refresh_from_db()
    assert canary.owners == ["qa-lead"]


def test_without_htmx_the_form_redirects_to_the_run_page(client, owned, lead):
    client.force_login(lead)

    answer = _assign(client, owned, item(owned, "Canary healthy").pk, "@sam", htmx=False)

    assert answer.status_code == 302 and answer.url == owned.get_absolute_url()


@pytest.mark.parametrize(("who", "status"), [("engineer", 403), ("outsider", 404)])
def test_only_the_lead_may_change_owners(client, owned, request, who, status):
    client.force_login(request.getfixturevalue(who))

    answer = _assign(client, owned, item(owned, "Canary healthy").pk, "@sam")

    assert answer.status_code == status
    assert item(owned, "Canary healthy").owners == ["qa-lead"]


def test_my_items_shows_only_the_viewers_items(client, owned, engineer):
    client.force_login(engineer)

    page = client.get(reverse("runs:detail", args=[owned.pk]) + "?mine=1").text

    assert "Backups verified" in page
    assert "Migrations reviewed" not in page and "Dashboards green" not in page
    assert "Show all items" in page


def test_my_items_lets_an_approver_tick_what_their_role_owns(client, owned, approver):
    client.force_login(approver)
    canary = item(owned, "Canary healthy")

    page = client.get(reverse("runs:detail", args=[owned.pk]) + "?mine=1").text
    checkbox = page.split(f'id="item-{canary.pk}-check"')[1].split(">")[0]
    assert "disabled" not in checkbox
    answer = client.post(
        reverse("runs:item_state", args=[owned.pk, canary.pk]),
        {"state": "done", "version": 1},
        headers={"HX-Request": "true"},
    )

    assert answer.status_code == 200
    canary.refresh_from_db()
    assert canary.state == "done"


def test_my_work_lists_owned_items_and_waiting_signoffs(client, owned, lead, approver):
    runs.change_status(deployment_id=owned.pk, to="in_progress", user=lead)
    client.force_login(approver)

    page = client.get(reverse("owners:my_work")).text

    assert "Canary healthy" in page  # through the QA Lead role
    assert "Backups verified" not in page
    # People's text isolated from the page's direction (<bdi>).
    assert "<bdi>QA Lead</bdi></a> on <bdi>owned-api</bdi> <bdi>1.0</bdi>" in page
    assert "<td><bdi>owned-api</bdi> <bdi>1.0</bdi>" in page
    assert "30m after window start" in page
    assert 'aria-current="page">My work</a>' in page


def test_my_work_lists_the_leads_items(client, owned, lead):
    client.force_login(lead)

    page = client.get(reverse("owners:my_work")).text

    assert "Dashboards green" in page and "Canary healthy" not in page


def test_my_work_shows_nothing_of_deployments_the_user_cannot_see(client, owned, outsider):
    owned.items.update(owners=["otto"])
    client.force_login(outsider)

    page = client.get(reverse("owners:my_work")).text

    assert "owned-api" not in page and "No open items are yours." in page


def test_the_template_page_shows_owners_and_due_times(client, owned_revision, engineer):
    client.force_login(engineer)

    page = client.get(owned_revision.get_absolute_url()).text

    assert "@erin · due 2h after window start" in page
    assert '<span class="muted small">@backend-lead</span>' in page


def test_an_item_of_another_deployment_is_a_404_for_everyone(client, owned, deployment, lead):
    client.force_login(lead)  # leads both
    other = deployment.items.order_by("pk").first()

    answer = _assign(client, owned, other.pk, "@sam")

    assert answer.status_code == 404
    other.refresh_from_db()
    assert other.owners == []


@pytest.mark.parametrize("item_id", ["²", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", "-1", ""])
def test_an_odd_item_id_is_refused_not_a_server_error(client, owned, lead, item_id):
    # "²".isdigit() is True but int("²") raises: a 500 before.
    client.force_login(lead)

    answer = _assign(client, owned, item_id, "@sam")

    assert 400 <= answer.status_code < 500


def test_changing_only_the_due_time_keeps_the_owners(client, owned, lead):
    client.force_login(lead)
    backups = item(owned, "Backups verified")  # @erin, due 2h after window start

    answer = _assign(client, owned, backups.pk, "", due="3h after go-live")

    assert answer.status_code == 200
    backups.refresh_from_db()
    assert backups.owners == ["erin"]  # an empty owners field wiped them before
    assert (backups.due_minutes, backups.due_anchor) == (180, "go_live")


def test_none_removes_the_owners_and_empty_keeps_both(client, owned, lead):
    client.force_login(lead)
    backups = item(owned, "Backups verified")

    assert "(unchanged)" in _assign(client, owned, backups.pk, "", due="").text
    _assign(client, owned, backups.pk, "none", due="")

    backups.refresh_from_db()
    assert backups.owners == []
    assert (backups.due_minutes, backups.due_anchor) == (120, "window")


def _checkbox(html, dom_id):
    return html.split(f'id="{dom_id}"')[1].split(">")[0]


def test_an_owner_who_is_no_engineer_gets_tick_and_na_but_no_note_form(client, owned, approver):
    client.force_login(approver)
    canary = item(owned, "Canary healthy")  # @qa-lead: Quinn, the QA Lead's approver
    canary.subchecks.create(position=1, title="Error budget checked")

    page = client.get(reverse("runs:detail", args=[owned.pk]) + "?mine=1").text
    assert f'id="item-{canary.pk}-na"' in page  # owners may mark N/A
    assert f'id="item-{canary.pk}-note"' not in page  # add_item_note refuses owners (403)

    ticked = client.post(
        reverse("runs:item_state", args=[owned.pk, canary.pk]),
        {"state": "done", "version": 1},
        headers={"HX-Request": "true"},
    ).text
    assert "disabled" not in _checkbox(ticked, f"item-{canary.pk}-check")
    assert f'id="item-{canary.pk}-note"' not in ticked

    sub = canary.subchecks.get()
    answer = client.post(
        reverse("runs:subcheck_state", args=[owned.pk, sub.pk]),
        {"done": "true", "version": 1},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    # The row stays the owner's: it came back read-only before.
    assert "disabled" not in _checkbox(answer.text, f"sub-{sub.pk}-check")
    assert "disabled" not in _checkbox(answer.text, f"item-{canary.pk}-check")
    assert f'id="item-{canary.pk}-note"' not in answer.text


def test_an_engineer_still_gets_the_note_form(client, owned, engineer):
    client.force_login(engineer)
    backups = item(owned, "Backups verified")

    page = client.get(reverse("runs:detail", args=[owned.pk])).text

    assert f'id="item-{backups.pk}-note"' in page
