"""The values a signal can take at all, from its kind and unit.

A reading outside them is a typo or a broken probe, not a measurement: a p95
latency of -5 ms would otherwise be graded GREEN. Pure (no database), so the
reading form, the ingest API and the REST API refuse the same values, through
`gonogo.services.parse_value`.
"""

import re
from dataclasses import dataclass

# Units whose quantities cannot be negative: durations, sizes, rates and counts.
NON_NEGATIVE_UNITS = frozenset(
    {
        "ns", "us", "µs", "ms", "s", "sec", "secs", "second", "seconds",
        "min", "mins", "minute", "minutes", "h", "hour", "hours",
        "b", "bytes", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib",
        "req/s", "rps", "rpm", "qps", "ops/s", "per second", "per minute",
        "count", "connections", "errors", "requests", "users", "pods", "nodes",
    }
)  # fmt: skip
PERCENT_UNITS = frozenset({"%", "percent", "pct"})
# "of 20": a share of a fixed pool (the seed's "Database connections").
_OF_POOL = re.compile(r"^of\s+(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class ValidRange:
    low: float | None = None
    high: float | None = None

    def refusal(self, value: float) -> str:
        """Why `value` is outside, or "" when it is inside."""
        if self.low is not None and value < self.low:
            return f"cannot be below {self.low:g}"
        if self.high is not None and value > self.high:
            return f"cannot be above {self.high:g}"
        return ""


def valid_range(kind: str, unit: str) -> ValidRange:
    """Percentages 0–100, "of N" 0–N, durations, sizes and counts ≥ 0, yes/no 0–1;
    any other unit (or none) is not limited."""
    if kind == "boolean":
        return ValidRange(0.0, 1.0)
    unit = " ".join(unit.split()).lower()
    if unit in PERCENT_UNITS:
        return ValidRange(0.0, 100.0)
    if pool := _OF_POOL.match(unit):
        return ValidRange(0.0, float(pool.group(1)))
    if unit in NON_NEGATIVE_UNITS:
        return ValidRange(0.0, None)
    return ValidRange()
