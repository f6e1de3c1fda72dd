"""When an item is due: its offset from an anchor, once the anchor is known.

The anchors: the phase's start (the first change to one of its items), the
go-live (the deployment went into monitoring) and the window start (the
planned start, or the actual start when none was planned). An item whose
anchor has not happened yet has no due time yet. Offsets are in schedule
minutes, scaled like the reminders' (REMINDER_TIME_SCALE).
"""

from datetime import datetime

from deploychecks.checklists.models import DueAnchor
from deploychecks.checklists.parser.owners import describe_due
from deploychecks.reminders.schedule import schedule_delta


def anchor_time(anchor: str, deployment, phase) -> datetime | None:
    if anchor == DueAnchor.WINDOW:
        return deployment.planned_start or deployment.started_at
    if anchor == DueAnchor.GO_LIVE:
        return deployment.go_live_at
    if anchor == DueAnchor.PHASE:
        return phase.started_at
    return None


def due_at(item, deployment, phase) -> datetime | None:
    if not item.due_anchor or item.due_minutes is None:
        return None
    start = anchor_time(item.due_anchor, deployment, phase)
    if start is None:
        return None
    try:
        return start + schedule_delta(item.due_minutes)
    except OverflowError:  # an anchor near year 9999 (a planned start typed far ahead)
        return None


def due_text(item) -> str:
    """'2h after go-live', or '' without a due time."""
    return describe_due(item.due_minutes, item.due_anchor) if item.due_anchor else ""
