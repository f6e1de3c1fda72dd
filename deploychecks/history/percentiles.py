"""Percentiles (the median and others) that run on PostgreSQL and on SQLite.

PostgreSQL has the ordered-set aggregate percentile_cont; SQLite has none, so
there the same interpolation runs as a Python aggregate registered on the
connection (the embedded `make run` mode holds demo-sized data).
"""

import math

from django.db.models import Aggregate, DurationField


def percentile_cont(values: list, fraction: float):
    """PostgreSQL's percentile_cont over sorted `values`: interpolates between neighbours."""
    if not values:
        return None
    position = (len(values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


class SQLitePercentile:
    """dc_percentile(value, fraction) for SQLite, which has no percentile_cont."""

    def __init__(self):
        self.values, self.fraction = [], 0.5

    def step(self, value, fraction):
        if value is not None:
            self.values.append(value)
            self.fraction = fraction

    def finalize(self):
        return percentile_cont(sorted(self.values), self.fraction)


def percentile_sql(db, column_sql: str, fraction: float) -> str:
    """SQL for the `fraction` percentile of `column_sql` on the connection `db`.

    For raw SQL over a derived table (analytics.phase_durations), where an
    ORM aggregate cannot go.
    """
    if db.vendor == "sqlite":
        db.ensure_connection()
        # Registering again is cheap and covers connections opened since.
        db.connection.create_aggregate("dc_percentile", 2, SQLitePercentile)
        return f"dc_percentile({column_sql}, {fraction!r})"
    return f"percentile_cont({fraction!r}) WITHIN GROUP (ORDER BY {column_sql})"


class Percentile(Aggregate):
    """The `fraction` percentile of a duration (0.5 = the median), like percentile_cont."""

    name = "Percentile"
    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler, db, **extra_context):
        function_call = percentile_sql(db, "%(expressions)s", float(self.extra["fraction"]))
        return self.as_sql(compiler, db, template=function_call, **extra_context)
