"""The analytics page's numbers: one aggregate query per chart, over the deployments a user may see.

Each chart function takes the deployments to count (`scope()`) and returns plain
rows. The same rows draw the SVG, fill the accessible table and make the CSV,
so the three never disagree. Everything is computed by the database with
GROUP BY and aggregates (years of history are ~10,000 deployments and a million
items: looping over them in Python is not an option), in SQL that runs on
PostgreSQL and on SQLite (the embedded mode).

`report()` caches each chart's rows, keyed by who is asking (managers share
one entry), the filters and a cheap data version (see `data_versions`).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from deploychecks.accounts.people import is_manager
from deploychecks.history.percentiles import Percentile, percentile_sql
from deploychecks.reminders.models import Reminder
from deploychecks.retros.models import FollowUp
from deploychecks.runs import access
from deploychecks.runs.models import Deployment, GateOverride, RunItem, RunPhase
from deploychecks.signoffs.models import SignOff

S = Deployment.Status
FINISHED = (S.COMPLETED, S.ROLLED_BACK, S.ABORTED)
# Stacking order of the weekly chart: outcomes first, then what is still running.
STATUS_ORDER = (S.COMPLETED, S.ROLLED_BACK, S.ABORTED, S.MONITORING, S.IN_PROGRESS, S.PLANNED)
# Finished deployments hardly change, so the data versions only follow statuses;
# what can still move (items of a running deployment, a reminder acknowledged
# after the end) shows up when the entry expires.
CACHE_SECONDS = 15 * 60
CACHE_PREFIX = "analytics:v1"
# Reminder acknowledgement buckets: (label, upper bound in minutes or None).
ACK_BUCKETS = (
    ("under 5 min", 5),
    ("5–15 min", 15),
    ("15–60 min", 60),
    ("1–4 h", 240),
    ("4 h or more", None),
)
TOP_ITEMS = 10
# The charts that count deployments still running; the others only finished ones.
# Charts that change before a deployment finishes (going live can be overridden).
COUNTS_UNFINISHED = {"deployments-per-week", "overrides"}


@dataclass(frozen=True)
class Filters:
    """What the user narrowed the page to (all optional)."""

    service: str = ""
    environment: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def cache_part(self) -> str:
        raw = "\x1f".join(
            [self.service, self.environment, str(self.date_from or ""), str(self.date_to or "")]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Result:
    """A chart's rows (one per table row) and a few headline facts shown under it."""

    rows: list[tuple]
    facts: list[tuple[str, str]]


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    # The one-line definition printed under the chart.
    definition: str
    columns: tuple[str, ...]
    compute: Callable[[QuerySet], Result]


# --- Which deployments -------------------------------------------------------------------


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def scope(user, filters: Filters, *, manager: bool | None = None) -> QuerySet:
    """The deployments `user` may see (access.visible_deployments), narrowed by `filters`.

    A non-manager's set is wrapped in an `IN (subquery)`: aggregates over it
    count each row once, whatever joins the visibility rule needs. Each
    deployment is dated by its start (its creation if it never started): `when`.
    """
    if manager is None:
        manager = is_manager(user)
    if manager:
        deployments = Deployment.objects.all()
    else:
        deployments = Deployment.objects.filter(
            pk__in=access.visible_deployments(user).order_by().values("pk")
        )
    deployments = deployments.annotate(when=Coalesce("started_at", "created_at")).order_by()
    if filters.service:
        deployments = deployments.filter(service=filters.service)
    if filters.environment:
        deployments = deployments.filter(environment=filters.environment)
    if filters.date_from:
        deployments = deployments.filter(when__gte=_start_of(filters.date_from))
    if filters.date_to:
        deployments = deployments.filter(when__lt=_start_of(filters.date_to + timedelta(days=1)))
    return deployments


def _finished_ids(deployments: QuerySet) -> QuerySet:
    return deployments.filter(status__in=FINISHED).values("pk")


def filter_choices(user, *, manager: bool | None = None) -> tuple[list[str], list[str]]:
    """The services and environments among the deployments `user` may see.

    One query for both: the pairs are few (services × environments).
    """
    pairs = (
        scope(user, Filters(), manager=manager)
        .values_list("service", "environment")
        .distinct()
        .order_by()
    )
    services, environments = set(), set()
    for service, environment in pairs:
        services.add(service)
        environments.add(environment)
    return sorted(services), sorted(environments)


def _minutes(value) -> float | None:
    """A duration as minutes (1 decimal). Raw SQL on SQLite gives microseconds."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value / 1_000_000
    return round(seconds / 60, 1)


# --- The charts -------------------------------------------------------------------------------


def _local_day(value) -> date:
    return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()


def deployments_per_week(deployments: QuerySet) -> Result:
    """Count per week (Monday) of `when`, split by status; empty weeks in between are rows too."""
    counts = (
        deployments.annotate(week=TruncWeek("when"))
        .values("week", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_week: dict[date, dict[str, int]] = {}
    for row in counts:
        by_week.setdefault(_local_day(row["week"]), {})[row["status"]] = row["n"]
    if not by_week:
        return Result([], [])
    rows, week, last = [], min(by_week), max(by_week)
    while week <= last:
        numbers = [by_week.get(week, {}).get(status, 0) for status in STATUS_ORDER]
        rows.append((week.isoformat(), *numbers, sum(numbers)))
        week += timedelta(days=7)
    total = sum(row[-1] for row in rows)
    return Result(rows, [("Deployments", str(total)), ("Weeks", str(len(rows)))])


def rollback_rate(deployments: QuerySet) -> Result:
    """Per month of `when`: finished deployments, those rolled back, and the rate in %."""
    counts = (
        deployments.filter(status__in=FINISHED)
        .annotate(month=TruncMonth("when"))
        .values("month")
        .annotate(finished=Count("pk"), rolled_back=Count("pk", filter=Q(status=S.ROLLED_BACK)))
        .order_by()
    )
    by_month = {_local_day(row["month"]): (row["finished"], row["rolled_back"]) for row in counts}
    if not by_month:
        return Result([], [])
    rows, month, last = [], min(by_month), max(by_month)
    while month <= last:
        finished, rolled_back = by_month.get(month, (0, 0))
        rate = round(100 * rolled_back / finished, 1) if finished else None
        rows.append((month.strftime("%Y-%m"), finished, rolled_back, rate))
        month = (month + timedelta(days=32)).replace(day=1)
    finished = sum(row[1] for row in rows)
    rolled_back = sum(row[2] for row in rows)
    overall = f"{100 * rolled_back / finished:.1f}% ({rolled_back} of {finished})"
    return Result(rows, [("Overall", overall)])


def overrides_per_month(deployments: QuerySet) -> Result:
    """Per month: the gate overrides made, going live and completing."""
    counts = (
        GateOverride.objects.filter(deployment__in=deployments.values("pk"))
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            live=Count("pk", filter=Q(to_status=S.MONITORING)),
            complete=Count("pk", filter=Q(to_status=S.COMPLETED)),
        )
        .order_by()
    )
    by_month = {_local_day(row["month"]): (row["live"], row["complete"]) for row in counts}
    if not by_month:
        return Result([], [])
    rows, month, last = [], min(by_month), max(by_month)
    while month <= last:
        live, complete = by_month.get(month, (0, 0))
        rows.append((month.strftime("%Y-%m"), live, complete, live + complete))
        month = (month + timedelta(days=32)).replace(day=1)
    overridden = deployments.filter(overrides__isnull=False).distinct().count()
    return Result(rows, [("Deployments overridden", f"{overridden} of {deployments.count()}")])


def phase_durations(deployments: QuerySet) -> Result:
    """Median over finished deployments of each phase's span, grouped by phase title.

    A phase's span runs from the earliest to the latest `changed_at` of its
    items that are done or N/A (the record page says the same). SQL cannot
    nest aggregates, so the per-phase spans (an ORM query) become a derived
    table for the median per title.
    """
    spans = (
        RunItem.objects.filter(
            deployment__in=_finished_ids(deployments),
            state__in=[RunItem.State.DONE, RunItem.State.NA],
            changed_at__isnull=False,
        )
        # No ordering: RunItem's default one would join phases and deployments.
        .order_by()
        .values("phase_id")
        .annotate(span=Max("changed_at") - Min("changed_at"))
    )
    inner, params = spans.query.sql_with_params()
    median = percentile_sql(connection, "spans.span", 0.5)
    # Built from the ORM's own SQL and our table name; values stay parameters.
    table = RunPhase._meta.db_table
    sql = (
        f"SELECT phase.title, COUNT(*), {median} FROM ({inner}) spans "  # noqa: S608
        f"JOIN {table} phase ON phase.id = spans.phase_id "
        "GROUP BY phase.title ORDER BY MIN(phase.position), phase.title"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [(title, n, _minutes(value)) for title, n, value in cursor.fetchall()]
    return Result(rows, [])


def skipped_items(deployments: QuerySet) -> Result:
    """The item titles most often marked N/A (finished deployments) or skipped.

    Skipped means left open in a completed deployment. Open items of a rolled
    back or aborted deployment were never reached, and the rollback
    procedure is left open whenever nothing was rolled back: counting those
    would bury the real skips (in seeded history they outnumber them 20 to 1).
    """
    State = RunItem.State
    # One IN over the finished deployments (an OR of two IN lists is twice as slow).
    counts = (
        RunItem.objects.filter(deployment__in=_finished_ids(deployments))
        .filter(
            Q(state=State.NA)
            | Q(state=State.OPEN, deployment__status=S.COMPLETED, phase__is_rollback=False)
        )
        .values("title")
        .annotate(
            na=Count("pk", filter=Q(state=State.NA)),
            skipped=Count("pk", filter=Q(state=State.OPEN)),
            total=Count("pk"),
        )
        .order_by("-total", "-na", "title")[:TOP_ITEMS]
    )
    return Result([(r["title"], r["na"], r["skipped"], r["total"]) for r in counts], [])


def signoff_delays(deployments: QuerySet) -> Result:
    """Per role name: sign-offs, median and 90th percentile of the time from go-live.

    Go-live falls back to the start for deployments that never went live; a
    sign-off given before go-live counts as a negative delay.
    """
    delay = F("created_at") - Coalesce("deployment__go_live_at", "deployment__started_at")
    counts = (
        SignOff.objects.filter(
            deployment__in=_finished_ids(deployments),
            status__in=[SignOff.Status.VALID, SignOff.Status.STALE, SignOff.Status.SUPERSEDED],
        )
        .values("role__name")
        .annotate(
            n=Count("pk"),
            median=Percentile(delay, 0.5),
            p90=Percentile(delay, 0.9),
            position=Min("role__position"),
        )
        .order_by("position", "role__name")
    )
    return Result(
        [(r["role__name"], r["n"], _minutes(r["median"]), _minutes(r["p90"])) for r in counts], []
    )


def reminder_acknowledgements(deployments: QuerySet) -> Result:
    """How long acknowledged reminders waited after being sent, in buckets; late ones counted.

    Late is the dispatcher's own rule (reminders.dispatch): sent more than
    REMINDER_LATE_AFTER_SECONDS after due. Every reminder goes out a little
    after its due time, so `late_by > 0` would count them all.
    """
    grace = timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS)
    acked = Q(acknowledged_at__isnull=False)
    within = {
        limit: Count(
            "pk", filter=acked & Q(acknowledged_at__lt=F("sent_at") + timedelta(minutes=limit))
        )
        for _, limit in ACK_BUCKETS
        if limit
    }
    numbers = Reminder.objects.filter(
        deployment__in=_finished_ids(deployments), sent_at__isnull=False
    ).aggregate(
        sent=Count("pk"),
        late=Count("pk", filter=Q(late_by__gt=grace)),
        acked=Count("pk", filter=acked),
        median=Percentile(F("acknowledged_at") - F("sent_at"), 0.5),
        **{f"within_{limit}": count for limit, count in within.items()},
    )
    if not numbers["acked"]:
        rows = []
    else:
        rows, below = [], 0
        for label, limit in ACK_BUCKETS:
            cumulative = numbers[f"within_{limit}"] if limit else numbers["acked"]
            rows.append((label, cumulative - below))
            below = cumulative
    median = _minutes(numbers["median"])
    facts = [
        ("Acknowledged", f"{numbers['acked']} of {numbers['sent']} sent"),
        ("Median time to acknowledge", "—" if median is None else f"{median} min"),
        ("Sent late", f"{numbers['late']} of {numbers['sent']}"),
    ]
    return Result(rows, facts)


def follow_ups_open_per_week(deployments: QuerySet) -> Result:
    """Per week (Monday): the retrospectives' follow-ups open at the end of the week,
    and those added and done in it; from the first week one was added to the last
    week one was added or done."""
    follow_ups = FollowUp.objects.filter(deployment__in=deployments.values("pk"))
    added = (
        follow_ups.annotate(week=TruncWeek("created_at")).values("week").annotate(n=Count("pk"))
    ).order_by()
    done = (
        follow_ups.filter(done_at__isnull=False)
        .annotate(week=TruncWeek("done_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
    )
    added_by_week = {_local_day(row["week"]): row["n"] for row in added}
    done_by_week = {_local_day(row["week"]): row["n"] for row in done}
    if not added_by_week:
        return Result([], [])
    rows, week, last = [], min(added_by_week), max(added_by_week | done_by_week)
    open_now = 0
    while week <= last:
        n_added, n_done = added_by_week.get(week, 0), done_by_week.get(week, 0)
        open_now += n_added - n_done
        rows.append((week.isoformat(), open_now, n_added, n_done))
        week += timedelta(days=7)
    total = sum(added_by_week.values())
    return Result(rows, [("Open now", f"{open_now} of {total} follow-ups")])


CHARTS = {
    chart.slug: chart
    for chart in (
        Chart(
            "deployments-per-week",
            "Deployments per week by outcome",
            "Deployments counted in the week (starting Monday) they started, or were created if "
            "they never started, stacked by their status.",
            ("Week", *(S(status).label for status in STATUS_ORDER), "Total"),
            deployments_per_week,
        ),
        Chart(
            "rollback-rate",
            "Rollback rate over time",
            "Per month: rolled back ÷ finished (completed, rolled back or aborted) deployments "
            "that started that month.",
            ("Month", "Finished", "Rolled back", "Rollback rate (%)"),
            rollback_rate,
        ),
        Chart(
            "overrides",
            "Gate overrides per month",
            "Per month: the times a lead or admin took a deployment live, or completed it, past "
            "unmet conditions of its gate (open items, RED, missing approvals, an early end).",
            ("Month", "Going live", "Completing", "Total"),
            overrides_per_month,
        ),
        Chart(
            "phase-duration",
            "Median duration per phase",
            "A phase lasts from its first to its last item marked done or N/A; the median over "
            "finished deployments, phases grouped by title.",
            ("Phase", "Deployments", "Median (minutes)"),
            phase_durations,
        ),
        Chart(
            "skipped-items",
            "Most skipped or N/A items",
            f"The {TOP_ITEMS} item titles most often marked N/A in finished deployments or "
            "left open (skipped) in completed ones, outside the rollback procedure; ranked by "
            "the two together.",
            ("Item", "N/A", "Left open", "Total"),
            skipped_items,
        ),
        Chart(
            "signoff-delay",
            "Sign-off delay per role",
            "Time from go-live (the start if it never went live) to each valid, stale or "
            "superseded sign-off in finished deployments: median and 90th percentile per role.",
            ("Role", "Sign-offs", "Median (minutes)", "90th percentile (minutes)"),
            signoff_delays,
        ),
        Chart(
            "reminder-ack",
            "Reminder acknowledgement time",
            "Time from sending to acknowledgement of reminders in finished deployments; "
            "sent late counts those that went out after the grace the dispatcher allows past "
            "their due time.",
            ("Time to acknowledge", "Reminders"),
            reminder_acknowledgements,
        ),
        Chart(
            "follow-ups-open",
            "Follow-ups open per week",
            "Follow-ups of retrospectives (of the deployments counted) still open at the end of "
            "each week (starting Monday): added up to then and not yet marked done.",
            ("Week", "Open", "Added", "Done"),
            follow_ups_open_per_week,
        ),
    )
}
# Charts whose numbers move after a deployment finished: keyed by their own version too.
FOLLOWS_FOLLOW_UPS = {"follow-ups-open"}


# --- Caching ------------------------------------------------------------------------------


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def data_versions(deployments: QuerySet) -> tuple[str, str]:
    """Two versions of the set: of every deployment, and of the finished ones only.

    The first changes whenever a deployment is added, removed or changes
    status; the second only when one finishes (or a finished one goes away),
    so starting or going live recomputes just the weekly chart. One GROUP BY
    over the deployments table, a few milliseconds at 10,000 rows. Statuses
    only move forward, so a status' count, newest id and latest end never
    come back to an earlier value.
    """
    rows = list(
        deployments.values("status")
        .annotate(n=Count("pk"), last=Max("pk"), ended=Max("ended_at"))
        .order_by("status")
        .values_list("status", "n", "last", "ended")
    )
    return _digest(rows), _digest([row for row in rows if row[0] in FINISHED])


def follow_ups_version(deployments: QuerySet) -> tuple:
    """Changes when a follow-up is added, removed, done or reopened (one aggregate)."""
    numbers = FollowUp.objects.filter(deployment__in=deployments.values("pk")).aggregate(
        n=Count("pk"), last=Max("pk"), done=Count("done_at"), last_done=Max("done_at")
    )
    return tuple(sorted(numbers.items()))


def report(user, filters: Filters, *, manager: bool | None = None) -> dict:
    """Every chart's rows for `user` and `filters`, each from the cache while its data is unchanged.

    Returns {"key": names this combination of cached charts (for derived
    entries such as the page's HTML), "computed": how many charts this call computed,
    "computed_at": when the oldest of them
    was computed, "charts": {slug: Result}}.
    """
    if manager is None:
        manager = is_manager(user)
    deployments = scope(user, filters, manager=manager)
    every, finished = data_versions(deployments)
    base = f"{CACHE_PREFIX}:{'all' if manager else f'user{user.pk}'}:{filters.cache_part()}"
    keys = {
        slug: f"{base}:{slug}:{every if slug in COUNTS_UNFINISHED else finished}" for slug in CHARTS
    }
    follow_ups = _digest(follow_ups_version(deployments))
    for slug in FOLLOWS_FOLLOW_UPS:
        keys[slug] += f":{follow_ups}"
    found = cache.get_many(keys.values())
    computed = {}
    for slug, key in keys.items():
        if key not in found:
            computed[key] = (timezone.now(), CHARTS[slug].compute(deployments))
    if computed:
        cache.set_many(computed, CACHE_SECONDS)
    charts = {slug: (found | computed)[key] for slug, key in keys.items()}
    return {
        "key": f"{base}:{_digest([(key, charts[slug][0]) for slug, key in keys.items()])}",
        "computed": len(computed),
        "computed_at": min(at for at, _ in charts.values()),
        "charts": {slug: result for slug, (_, result) in charts.items()},
    }
