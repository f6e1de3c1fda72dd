"""Fast inserts for `seed_history`: primary keys handed out up front, COPY on PostgreSQL.

The generator needs every row's id before it writes anything (items are the
targets of audit events, sign-offs hash the items' ids…), so ids are reserved
from the table's sequence (PostgreSQL) or counted on from the largest id
(SQLite, whose IMMEDIATE transactions keep other writers out meanwhile).

Audit events are appended by `AuditChain`, under the same chain lock as
`audit.services.record_event`, with their hashes computed by the same
`compute_hash` on the values as the database will give them back.
"""

import json
from collections import defaultdict
from dataclasses import dataclass

from django.db import connections

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import compute_hash, lock_chain_head

_REQUIRED = object()
# Ids reserved per round trip to a PostgreSQL sequence.
ID_BLOCK = 20_000


class _Table:
    """A model's columns, their defaults and which of them hold JSON."""

    def __init__(self, model):
        self.model = model
        self.name = model._meta.db_table
        # Generated columns (RunPhase.is_rollback) are the database's to write.
        self.fields = [f for f in model._meta.concrete_fields if not f.generated]
        self.columns = [f.column for f in self.fields]
        self.attnames = [f.attname for f in self.fields]
        self.json = {i for i, f in enumerate(self.fields) if f.get_internal_type() == "JSONField"}
        self.defaults = {}
        for field in self.fields:
            if field.has_default():
                self.defaults[field.attname] = field.get_default()
            elif field.null:
                self.defaults[field.attname] = None
            elif field.blank and field.get_internal_type() in ("CharField", "TextField"):
                self.defaults[field.attname] = ""
            else:
                self.defaults[field.attname] = _REQUIRED

    def row(self, values: dict) -> tuple:
        row = tuple(values.get(a, self.defaults[a]) for a in self.attnames)
        if _REQUIRED in row:
            missing = [a for a, v in zip(self.attnames, row, strict=True) if v is _REQUIRED]
            raise ValueError(f"{self.name}: no value for {', '.join(missing)}")
        return row


class Rows:
    """Rows waiting to be written, per model, with their ids already known."""

    def __init__(self, using: str):
        self.using = using
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self._tables: dict = {}
        self._pending: dict = defaultdict(list)
        self._free_ids: dict = defaultdict(list)
        self._next_id: dict = {}
        self.written = defaultdict(int)

    def table(self, model) -> _Table:
        if model not in self._tables:
            self._tables[model] = _Table(model)
        return self._tables[model]

    def add(self, model, **values) -> int:
        """Queue one row (its id is taken if not given) and return its id."""
        if "id" not in values:
            values["id"] = self.new_id(model)
        self._pending[model].append(self.table(model).row(values))
        return values["id"]

    def new_id(self, model) -> int:
        free = self._free_ids[model]
        if not free:
            free.extend(reversed(self.reserve_ids(model, ID_BLOCK)))
        return free.pop()

    def reserve_ids(self, model, count: int) -> list[int]:
        """`count` unused ids, ascending. Call inside the transaction that writes them."""
        table = self.table(model).name
        with self.connection.cursor() as cursor:
            if self.postgres:
                # One statement moves the sequence past the whole block (a nextval per
                # id cost a tenth of the run). An insert that takes an id from the
                # sequence at the very same instant would collide with the block and
                # fail on the primary key: loudly, never sharing an id.
                cursor.execute(
                    "SELECT setval(seq, nextval(seq) + %s - 1) FROM "
                    "pg_get_serial_sequence(%s, 'id') AS seq",
                    [count, table],
                )
                last = cursor.fetchone()[0]
                return list(range(last - count + 1, last + 1))
            # Table names come from our models, never from input.
            cursor.execute(f'SELECT MAX("id") FROM "{table}"')  # noqa: S608
            start = max((cursor.fetchone()[0] or 0) + 1, self._next_id.get(model, 1))
        self._next_id[model] = start + count
        return list(range(start, start + count))

    def new_transaction(self) -> None:
        """SQLite: ids handed out before this transaction may have been taken since."""
        if not self.postgres:
            self._free_ids.clear()

    def flush(self) -> None:
        """Write every queued row; call inside a transaction."""
        for model, rows in self._pending.items():
            if rows:
                self.write(self.table(model), rows)
                self.written[model] += len(rows)
        self._pending.clear()

    def write(self, table: _Table, rows: list[tuple]) -> None:
        columns = ", ".join(f'"{c}"' for c in table.columns)
        with self.connection.cursor() as cursor:
            if self.postgres:
                # Foreign keys are DEFERRABLE INITIALLY DEFERRED: order does not matter.
                with cursor.cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
                    for row in rows:
                        if table.json:
                            row = tuple(
                                json.dumps(v) if i in table.json and v is not None else v
                                for i, v in enumerate(row)
                            )
                        copy.write_row(row)
                return
            prepared = [
                tuple(
                    f.get_db_prep_save(v, self.connection)
                    for f, v in zip(table.fields, row, strict=True)
                )
                for row in rows
            ]
            marks = ", ".join(["%s"] * len(table.columns))
            # Names from our models, values as parameters.
            insert = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'  # noqa: S608
            cursor.executemany(insert, prepared)


@dataclass(slots=True)
class Event:
    """An audit event as `record_event` would store it (before/after already as stored JSON)."""

    deployment_id: int | None
    seq: int | None
    actor_id: int | None
    actor_name: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    before: object
    after: object
    created_at: object
    request_id: str = ""
    client_ip: str | None = None
    via: object = None  # seeded changes are people's, never the API's
    prev_hash: str = ""
    hash: str = ""
    id: int = 0

    @property
    def actor_ref(self) -> int | None:
        """The actor's id as written, inside the hash (as record_event stores it)."""
        return self.actor_id


class AuditChain:
    """Appends events to the global hash chain, in the order given."""

    def __init__(self, rows: Rows):
        self.rows = rows
        self.table = rows.table(AuditEvent)
        self.appended = 0

    def append(self, events: list[Event]) -> None:
        """Call inside a transaction: the chain lock is held until it ends."""
        if not events:
            return
        last = lock_chain_head(self.rows.using)
        ids = self.rows.reserve_ids(AuditEvent, len(events))
        for event, pk in zip(events, ids, strict=True):
            event.id = pk
            event.prev_hash = last
            event.hash = last = compute_hash(event)
        attnames = self.table.attnames
        self.rows.write(self.table, [tuple(getattr(e, a) for a in attnames) for e in events])
        self.appended += len(events)
