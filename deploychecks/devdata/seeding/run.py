"""Seeding in batches: stories played, rows written, events appended to the chain."""

import heapq
import random
import sys
import time
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.devdata.seeding.bulk import AuditChain, Rows
from deploychecks.devdata.seeding.people import People, ensure_people
from deploychecks.devdata.seeding.plans import make_plans
from deploychecks.devdata.seeding.rows import write_story
from deploychecks.devdata.seeding.script import script
from deploychecks.devdata.seeding.story import Story
from deploychecks.devdata.seeding.template import Shape, load_shape
from deploychecks.runs.models import Deployment, RunItem


@dataclass
class Context:
    rows: Rows
    shape: Shape
    people: People


@dataclass
class Report:
    seed: int
    deployments: int = 0
    events: int = 0
    items: int = 0
    seconds: float = 0.0
    outcomes: dict = field(default_factory=dict)


def seed_history(
    count: int,
    *,
    seed: int | None = None,
    batch: int = 200,
    days: int = 900,
    using: str = DEFAULT_DB_ALIAS,
    progress=None,
    now=None,
) -> Report:
    """Generate `count` deployments with their whole history; return what was made.

    `progress(done, events)` is called after every batch.
    """
    started = time.monotonic()
    seed = seed if seed is not None else random.randrange(2**32)
    now = now or timezone.now()
    report = Report(seed=seed)
    revision = ensure_default_template()
    context = Context(Rows(using), load_shape(revision), ensure_people(using))
    chain = AuditChain(context.rows)
    plans = make_plans(count, random.Random(seed), now, days)
    waiting: list = []  # events not yet appended: heap by time
    order = 0
    for begin in range(0, len(plans), batch):
        with transaction.atomic(using=using):
            context.rows.new_transaction()
            for index in range(begin, min(begin + batch, len(plans))):
                story = Story(context, plans[index], random.Random(f"{seed}:{index}"))
                script(story)
                story.run(now)
                write_story(story)
                report.outcomes[story.status] = report.outcomes.get(story.status, 0) + 1
                for event in story.events:
                    order += 1
                    heapq.heappush(waiting, (event.created_at, order, event))
                report.events += len(story.events)
            context.rows.flush()
            # Later deployments only have events after their creation: everything
            # before the next one's creation can join the chain, in time order.
            horizon = plans[begin + batch].created_at if begin + batch < len(plans) else None
            ready = []
            while waiting and (horizon is None or waiting[0][0] < horizon):
                ready.append(heapq.heappop(waiting)[2])
            chain.append(ready)
        report.deployments = min(begin + batch, len(plans))
        if progress:
            progress(report.deployments, report.events)
    report.items = context.rows.written[RunItem]
    _refresh_statistics(using)
    report.seconds = time.monotonic() - started
    assert context.rows.written[Deployment] == count
    return report


class Progress:
    """One line on stderr: redrawn in place on a terminal, else a line now and then."""

    def __init__(self, total: int, stream=None, *, tty: bool | None = None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = self.shown = time.monotonic()
        self.next_share = 0.1

    def __call__(self, done: int, events: int) -> None:
        now = time.monotonic()
        share = done / self.total if self.total else 1.0
        if self.tty:
            if now - self.shown >= 0.1 or done == self.total:
                self.stream.write("\r" + self.line(done, events, now))
                self.shown = now
        elif share >= self.next_share or now - self.shown >= 30 or done == self.total:
            self.stream.write(self.line(done, events, now) + "\n")
            self.shown = now
            while self.next_share <= share:
                self.next_share += 0.1
        self.stream.flush()

    def line(self, done: int, events: int, now: float) -> str:
        elapsed = now - self.started
        share = done / self.total if self.total else 1.0
        bar = "#" * round(share * 20)
        eta = elapsed / share - elapsed if share else 0
        return (
            f"[{bar:-<20}] {done:,}/{self.total:,} deployments · {events:,} events · "
            f"{elapsed:.0f} s · ETA {eta:.0f} s"
        )

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _refresh_statistics(using: str) -> None:
    """PostgreSQL plans from table statistics, which autovacuum refreshes only
    some time after a bulk load: until then it believes the tables are as small
    as before and picks scans that are slow at this size."""
    connection = connections[using]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
