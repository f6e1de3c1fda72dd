import pytest

from deploychecks.audit.services import record_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-" + "x" * 12)
    client.force_login(user)
    return client


def test_admin_lists_and_shows_events_read_only(superuser_client):
    event = record_event(action="item.ticked", target_repr="Backups verified")

    listing = superuser_client.get("/admin/audit/auditevent/")
    detail = superuser_client.get(f"/admin/audit/auditevent/{event.pk}/change/")

    assert listing.status_code == 200
    assert b"Backups verified" in listing.content
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content


def test_admin_offers_no_add_or_delete(superuser_client):
    event = record_event(action="item.ticked", target_repr="Backups verified")

    assert superuser_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert superuser_client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert (
        superuser_client.post(
            f"/admin/audit/auditevent/{event.pk}/change/", {"action": "x"}
        ).status_code
        == 403
    )
