import datetime
import hashlib
import hmac
import json
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import IntegrityError

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import GENESIS_HASH, compute_hash, record_event, verify_chain

pytestmark = pytest.mark.django_db


def test_it_copies_actor_target_and_request(engineer, make_request):
    group = Group.objects.create(name="release managers")

    event = record_event(
        action="group.renamed",
        actor=engineer,
        target=group,
        before={"name": "rm"},
        after={"name": "release managers"},
        request=make_request(request_id="abc-123", remote_addr="198.51.100.4"),
    )

    event.refresh_from_db()
    assert event.actor == engineer
    assert event.actor_name == "erin"
    assert (event.target_type, event.target_id) == ("auth.group", str(group.pk))
    assert event.target_repr == "release managers"
    assert event.before == {"name": "rm"}
    assert event.after == {"name": "release managers"}
    assert event.request_id == "abc-123"
    assert event.client_ip == "198.51.100.4"
    assert event.deployment_id is None and event.seq is None


def test_explicit_target_repr_wins_and_is_cut_to_300_chars(engineer):
    group = Group.objects.create(name="ops")

    event = record_event(action="group.noted", actor=engineer, target=group, target_repr="x" * 400)

    assert event.target_repr == "x" * 300


def test_anonymous_or_missing_actor_is_recorded_without_a_name():
    first = record_event(action="reminder.sent", actor=AnonymousUser())
    second = record_event(action="reminder.sent")

    assert (first.actor_id, first.actor_name) == (None, "")
    assert (second.actor_id, second.actor_name) == (None, "")


def test_forwarded_for_is_ignored_unless_trusted(make_request):
    request = make_request(remote_addr="10.0.0.2", forwarded_for="192.0.2.9, 203.0.113.50")

    event = record_event(action="item.ticked", request=request)

    assert event.client_ip == "10.0.0.2"


def test_trusted_forwarded_for_uses_the_entry_our_proxy_added(settings, make_request):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    request = make_request(remote_addr="10.0.0.2", forwarded_for="192.0.2.9, 203.0.113.50")

    event = record_event(action="item.ticked", request=request)

    assert event.client_ip == "203.0.113.50"


def test_garbage_client_ip_is_dropped(make_request):
    event = record_event(action="item.ticked", request=make_request(remote_addr="not-an-ip"))

    assert event.client_ip is None


def test_garbage_from_a_trusted_proxy_keeps_the_proxys_address(settings, make_request):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    request = make_request(remote_addr="10.0.0.2", forwarded_for="unknown")

    event = record_event(action="item.ticked", request=request)

    assert event.client_ip == "10.0.0.2"


def test_events_form_a_chain_from_the_genesis():
    first = record_event(action="a.one")
    second = record_event(action="a.two")
    third = record_event(action="a.three")

    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert first.created_at <= second.created_at <= third.created_at


def test_hash_is_an_hmac_of_canonical_json_under_the_audit_key(settings, engineer):
    event = record_event(action="a.one", actor=engineer, after={"b": 1, "a": [True, None]})

    payload = {
        "prev_hash": event.prev_hash,
        "deployment_id": None,
        "seq": None,
        "actor_ref": engineer.pk,
        "actor_name": "erin",
        "action": "a.one",
        "target_type": "",
        "target_id": "",
        "target_repr": "",
        "before": None,
        "after": {"a": [True, None], "b": 1},
        "request_id": "",
        "client_ip": None,
        "created_at": event.created_at.isoformat(timespec="microseconds"),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    assert event.hash == hmac.new(settings.AUDIT_HMAC_KEY.encode(), text, "sha256").hexdigest()
    # Without the key, the same content gives another hash: nobody can forge one.
    assert event.hash != hashlib.sha256(text).hexdigest()
    settings.AUDIT_HMAC_KEY = "another-key-" + "x" * 30
    assert compute_hash(AuditEvent.objects.get(pk=event.pk)) != event.hash


def test_actor_id_is_not_part_of_the_hash_but_its_copy_is(engineer, outsider):
    event = record_event(action="a.one", actor=engineer)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_ref == engineer.pk

    stored.actor_id = None  # what SET_NULL does when the user is deleted
    assert compute_hash(stored) == event.hash

    stored.actor_ref = outsider.pk
    assert compute_hash(stored) != event.hash


def test_values_hash_the_same_after_a_round_trip_through_the_database(make_request):
    awkward = {
        "when": datetime.datetime(2026, 5, 1, 12, 30, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 5, 1),
        "amount": Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "floats": [1.0, 0.1, 1e300, 1.5e16, 1e-7, -0.0, 0.30000000000000004],
        "big": 10**20,
        "text": 'ünïcødé ✓ "quoted" \\ back',
        "tuple": (1, 2),
        "nested": {"z": {"y": [None, False]}},
        3: "int key",
    }
    record_event(
        action="a.awkward",
        before=awkward,
        after=[awkward],
        request=make_request(remote_addr="2001:DB8:0:0:1:0:0:1"),
    )
    record_event(action="a.mapped", request=make_request(remote_addr="::ffff:192.0.2.1"))

    check = verify_chain()

    assert check.ok, check.reason
    assert AuditEvent.objects.get(action="a.mapped").client_ip == "192.0.2.1"


def test_values_that_json_cannot_hold_are_refused():
    with pytest.raises(ValueError):
        record_event(action="a.bad", after={"ratio": float("nan")})
    with pytest.raises(TypeError):
        record_event(action="a.bad", after={"obj": object()})

    assert not AuditEvent.objects.exists()


def test_seq_without_a_deployment_is_refused():
    with pytest.raises(ValueError):
        record_event(action="item.ticked", seq=4)


def test_unsaved_target_is_refused():
    with pytest.raises(ValueError):
        record_event(action="group.created", target=Group(name="never saved"))


def test_two_events_cannot_name_the_same_predecessor():
    first = record_event(action="a.one")
    fork = AuditEvent(
        action="a.fork", prev_hash=first.prev_hash, hash="f" * 64, created_at=first.created_at
    )

    with pytest.raises(IntegrityError):
        fork.save()
