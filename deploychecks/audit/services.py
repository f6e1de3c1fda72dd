"""Writing, reading and verifying the audit log.

All events form one global hash chain, ordered by id. Appends are serialized
(a PostgreSQL advisory lock held until the caller's transaction ends; SQLite
transactions are IMMEDIATE and so already serialized), which makes id order
equal to commit order and lets each event name its predecessor's hash.

Each hash is an HMAC-SHA256 under AUDIT_HMAC_KEY, a key that is never in the
database: a role that can insert rows (or even switch the triggers off) but
does not know the key cannot make an event that verifies.

The lock order (docs/decisions.md): a transaction that audits a change of a
deployment locks that deployment's row before the chain lock, and audits one
deployment only. `record_event` takes the row itself, so the order holds even
for a caller that forgot.
"""

import datetime
import functools
import hashlib
import hmac
import ipaddress
import json
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connections, router, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from psycopg.errors import LockNotAvailable

from deploychecks.accounts.people import client_ip
from deploychecks.core import provenance

from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Key of the transaction-level advisory lock that serializes appends on PostgreSQL.
CHAIN_LOCK_KEY = 0x6175646974  # "audit"

# The columns the hash covers, in the order verify_chain reads them. Not
# actor_id: Django's SET_NULL clears it when a user is deleted (actor_name
# stays); actor_ref, its copy that never changes, is covered instead.
HASHED_FIELDS = (
    "prev_hash",
    "deployment_id",
    "seq",
    "actor_ref",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "before",
    "after",
    "request_id",
    "client_ip",
    "created_at",
    # Where a machine's change came from (the API token, its CI run); only
    # hashed when present, so the events written before it verify as they were.
    "via",
)


ALTERED = (
    "content does not match its hash (the event was altered, or not written with the audit key)"
)
ACTOR_CHANGED = (
    "actor_id does not match the actor the event was written with (actor_ref, inside the hash)"
)


class ChainCheck(NamedTuple):
    ok: bool
    count: int
    first_bad: AuditEvent | None
    reason: str


def record_event(
    *,
    action,
    actor=None,
    deployment=None,
    seq=None,
    target=None,
    target_repr=None,
    before=None,
    after=None,
    request=None,
) -> AuditEvent:
    """Append one event to the audit log and return it.

    Call it inside the transaction of the change it describes, as the last
    write before commit: on PostgreSQL it takes the chain lock, which every
    other audited change then waits for until this transaction ends.

    `target` is the changed model instance (its type, pk and str() are copied);
    `target_repr` overrides the description, or describes a target that is not
    a model instance. `before` / `after` must be JSON-serializable (dates,
    decimals and UUIDs become strings). `request` supplies the request id, the
    client IP and, for an API request, its provenance (core.provenance).
    """
    if not action:
        raise ValueError("an audit event needs an action")
    if seq is not None and deployment is None:
        raise ValueError("seq is the deployment's sequence number; pass the deployment too")
    if actor is not None and not actor.is_authenticated:
        actor = None
    target_type = target_id = ""
    if target is not None:
        if target.pk is None:
            raise ValueError("the audit target must be saved before it is audited")
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        if target_repr is None:
            target_repr = str(target)

    event = AuditEvent(
        deployment=deployment,
        seq=seq,
        actor=actor,
        actor_ref=actor.pk if actor is not None else None,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=(target_repr or "")[:300],
        before=as_stored_json(before),
        after=as_stored_json(after),
        request_id=str(getattr(request, "request_id", "") or "")[:64],
        client_ip=_client_ip(request),
        via=as_stored_json(provenance.of_request(request)),
    )
    using = router.db_for_write(AuditEvent)
    # No savepoint: a failure here must fail the caller's change too (and
    # skipping it saves two round trips on every audited change).
    with transaction.atomic(using=using, savepoint=False):
        if deployment is not None:
            lock_deployment_row(using, deployment.pk)
        event.prev_hash = lock_chain_head(using)
        # Taken under the lock, so created_at never goes backwards along the chain.
        event.created_at = timezone.now()
        event.hash = compute_hash(event)
        event.save(force_insert=True, using=using)
    return event


def compute_hash(event) -> str:
    """HMAC-SHA256, under AUDIT_HMAC_KEY, of the event's content and its predecessor's hash.

    `event` is an AuditEvent or anything with the HASHED_FIELDS as attributes.
    Values are put in a canonical form first, so the hash of a row read back
    from the database equals the hash computed before it was written.
    """
    # getattr with a default: migration 0003 hashes rows of a model without `via`.
    payload = {name: getattr(event, name, None) for name in HASHED_FIELDS}
    if payload["via"] is None:
        del payload["via"]
    payload["before"] = _canonical_numbers(payload["before"])
    payload["after"] = _canonical_numbers(payload["after"])
    payload["client_ip"] = _normalize_ip(payload["client_ip"]) if payload["client_ip"] else None
    payload["created_at"] = (
        payload["created_at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    )
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hmac.new(_hmac_key(), text.encode(), hashlib.sha256).hexdigest()


def mac(text: str) -> str:
    """HMAC-SHA256 of `text` under the audit key (the witness signs its lines with it)."""
    return hmac.new(_hmac_key(), text.encode(), hashlib.sha256).hexdigest()


def actor_consistent(event) -> bool:
    """actor_id is outside the hash (SET_NULL clears it): it must be NULL or actor_ref."""
    return event.actor_id is None or event.actor_id == event.actor_ref


def _hmac_key() -> bytes:
    return settings.AUDIT_HMAC_KEY.encode()


def verify_chain(queryset=None) -> ChainCheck:
    """Recompute the hashes and check the links; stop at the first bad event.

    With no queryset the whole chain is walked from the genesis, streaming, so
    a million events need little memory. With a queryset (say one deployment's
    events) each of its events is checked against its own hash and against the
    hash of the event just before it in the global chain.
    """
    whole_chain = queryset is None
    events = AuditEvent.objects.all() if whole_chain else queryset
    fields = ("id", *HASHED_FIELDS, "hash", "actor_id")
    if not whole_chain:
        previous = AuditEvent.objects.using(events.db).filter(id__lt=OuterRef("id"))
        events = events.annotate(
            actual_prev=Coalesce(
                Subquery(previous.order_by("-id").values("hash")[:1]), Value(GENESIS_HASH)
            )
        )
        fields = (*fields, "actual_prev")

    count = 0
    expected_prev = GENESIS_HASH
    for row in events.order_by("id").values_list(*fields, named=True).iterator(chunk_size=2000):
        count += 1
        if not whole_chain:
            expected_prev = row.actual_prev
        if row.prev_hash != expected_prev:
            reason = (
                "prev_hash does not match the hash of the event before it "
                "(an earlier event was removed or rewritten)"
            )
            return ChainCheck(False, count, _event(events.db, row.id), reason)
        if compute_hash(row) != row.hash:
            return ChainCheck(False, count, _event(events.db, row.id), ALTERED)
        if not actor_consistent(row):
            return ChainCheck(False, count, _event(events.db, row.id), ACTOR_CHANGED)
        expected_prev = row.hash
    cleared = _actor_cleared_while_user_exists(events)
    if cleared is not None:
        reason = f"actor_id was cleared although user {cleared.actor_ref} still exists"
        return ChainCheck(False, count, cleared, reason)
    return ChainCheck(True, count, None, "")


def _actor_cleared_while_user_exists(events):
    # SET_NULL is the one UPDATE the triggers allow, and only a deleted user
    # explains it: one indexed query rather than a lookup per event.
    users = get_user_model()._base_manager.using(events.db).values("pk")
    return (
        events.filter(actor__isnull=True, actor_ref__isnull=False, actor_ref__in=users)
        .order_by("id")
        .first()
    )


def timeline(deployment, *, actor_id=None, action_prefix=None, limit=200):
    """A deployment's events, newest first, optionally by one person or kind of action.

    `action_prefix` matches the start of the action, so "item." gives every
    item event. Pass deployment=None for the events that belong to no deployment.
    """
    events = AuditEvent.objects.filter(deployment=deployment)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    return events.order_by("-created_at", "-id")[:limit]


class LockOrderError(RuntimeError):
    """A transaction that holds the chain lock waited for a deployment row: the
    order every writer keeps (deployment row, then chain) was broken."""


def lock_deployment_row(using, deployment_id: int) -> None:
    """Lock a deployment's row FOR NO KEY UPDATE: the first lock of the lock order.

    Every audited change of a deployment takes its row before the chain lock
    (docs/decisions.md, "One lock order"); `record_event` calls this itself, so
    a caller that forgot cannot break the order. Free when the caller already
    holds the row. NO KEY UPDATE rather than UPDATE: it does not block the
    KEY SHARE lock that a foreign key check on the row takes (the audit row's
    own check runs at COMMIT, Django's foreign keys being deferred).

    Once this transaction holds the chain lock, waiting for a row could close a
    cycle, so the row is asked for with NOWAIT and a busy row raises
    LockOrderError at once instead of a deadlock a second later.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return  # SQLite's IMMEDIATE transactions already serialize writers.
    deployment_model = AuditEvent._meta.get_field("deployment").related_model
    table = connection.ops.quote_name(deployment_model._meta.db_table)
    column = connection.ops.quote_name(deployment_model._meta.pk.column)
    after_chain = _holds_chain_lock(connection)
    # Quoted names from the model, the id as a parameter.
    sql = f"SELECT 1 FROM {table} WHERE {column} = %s FOR NO KEY UPDATE"  # noqa: S608
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql + (" NOWAIT" if after_chain else ""), [deployment_id])
    except OperationalError as exc:
        if after_chain and isinstance(exc.__cause__, LockNotAvailable):
            raise LockOrderError(
                f"deployment {deployment_id} was locked after the audit chain lock; "
                "lock the deployment row first (one deployment per audited transaction)"
            ) from exc
        raise


def lock_chain_head(using) -> str:
    """Take the chain lock (held until the transaction ends) and return the hash a
    new event must name as its predecessor. For every writer of the audit log."""
    _lock_chain(using)
    last_hash = (
        AuditEvent.objects.using(using).order_by("-id").values_list("hash", flat=True).first()
    )
    return last_hash or GENESIS_HASH


def _lock_chain(using):
    connection = connections[using]
    if connection.vendor != "postgresql":
        # SQLite: the project opens IMMEDIATE transactions, which already
        # serialize writers; the unique prev_hash constraint refuses a fork regardless.
        return
    if _holds_chain_lock(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    transaction.on_commit(_chain_marker(connection), using=using)


def _chain_marker(connection):
    # One no-op callback per connection, queued on commit when the chain lock is
    # taken: it is in run_on_commit exactly as long as this transaction (or the
    # savepoint that took the lock) lasts, so it says "held" without a query.
    marker = getattr(connection, "_audit_chain_marker", None)
    if marker is None:

        def marker():
            pass

        connection._audit_chain_marker = marker
    return marker


def _holds_chain_lock(connection) -> bool:
    marker = getattr(connection, "_audit_chain_marker", None)
    return marker is not None and any(entry[1] is marker for entry in connection.run_on_commit)


def _event(using, pk):
    return AuditEvent.objects.using(using).get(pk=pk)


def as_stored_json(value):
    # What the JSONField will give back: dates, decimals and UUIDs as strings,
    # tuples as lists, keys as strings. NaN and infinity are refused.
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False))


def _canonical_numbers(value):
    # PostgreSQL's jsonb keeps numbers as numeric: 1e+300 comes back as a
    # 301-digit integer. Writing integral floats as exact integers makes both
    # sides hash alike.
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(Decimal(repr(value)))
    return value


def _client_ip(request):
    return _normalize_ip(client_ip(request)) if request is not None else None


@functools.lru_cache(maxsize=4096)  # verify_chain sees the same few addresses again and again
def _normalize_ip(value):
    try:
        ip = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        elif ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%")[0])
    return str(ip)
