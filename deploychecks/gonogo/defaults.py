"""The seed checklist's go/no-go thresholds, as signal definitions.

| Signal | Green | Yellow | Red |
| Error rate (%) | <0.5 | 0.5–1 | >1 (rollback if sustained > 5 minutes) |
| p95 latency (ms) | <600 | 600–1000 | >1000 (rollback if sustained > 10 minutes) |
| Database connections (used of a pool of 20) | — | >18 of 20 | maxed |
| Data corruption | — | — | yes |
"""

DEFAULT_SIGNALS = [
    {
        "name": "Error rate",
        "unit": "%",
        "kind": "number",
        "direction": "above",
        "yellow_at": 0.5,
        "yellow_inclusive": True,
        "red_at": 1.0,
        "red_inclusive": False,
        "sustained_minutes": 5,
    },
    {
        "name": "p95 latency",
        "unit": "ms",
        "kind": "number",
        "direction": "above",
        "yellow_at": 600.0,
        "yellow_inclusive": True,
        "red_at": 1000.0,
        "red_inclusive": False,
        "sustained_minutes": 10,
    },
    {
        "name": "Database connections",
        "unit": "of 20",
        "kind": "number",
        "direction": "above",
        "yellow_at": 18.0,
        "yellow_inclusive": False,
        "red_at": 20.0,
        "red_inclusive": True,
        "sustained_minutes": None,
    },
    {
        "name": "Data corruption",
        "unit": "yes/no",
        "kind": "boolean",
        "direction": "above",
        "yellow_at": None,
        "yellow_inclusive": True,
        "red_at": 1.0,
        "red_inclusive": True,
        "sustained_minutes": None,
    },
]

# A revision gets the defaults when its Markdown has the seed's table heading
# and no earlier revision of its template had signals of its own.
MARKER = "go/no-go"
