"""What going live and completing need from the checklist itself, as rules.

`items_unmet`, `window_unmet` and `contacts_unmet` are pure: they take plain values and return the
unmet conditions (mutation-tested with their unit tests, `make mutation`). The
guards below feed them from the database; runs registers them in its
AppConfig.ready(), beside the features' guards (verdict, rollback, sign-offs).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from deploychecks.checklists.models import Stage
from deploychecks.checklists.rendering import plain_text
from deploychecks.runs.hooks import StatusChange, Unmet
from deploychecks.runs.models import RunItem

GO_LIVE = "monitoring"
COMPLETE = "completed"
OPEN = RunItem.State.OPEN
# Which phases each transition needs done or N/A, and how a refusal says so.
NEEDED_STAGES = {
    GO_LIVE: ({Stage.BEFORE}, "every item before go-live done or N/A; open:"),
    COMPLETE: ({Stage.BEFORE, Stage.AFTER}, "every item done or N/A; open:"),
}


@dataclass(frozen=True)
class ItemState:
    pk: int
    title: str
    stage: str
    state: str


def items_unmet(to: str, items: Iterable[ItemState]) -> list[Unmet]:
    """Open items of the phases `to` needs: before go-live for going live, all but
    the rollback procedure for completing."""
    if to not in NEEDED_STAGES:
        return []
    stages, needs = NEEDED_STAGES[to]
    return [
        Unmet(
            key=f"item:{item.pk}",
            kind="items",
            needs=needs,
            label=item.title,
            anchor=f"item-{item.pk}",
        )
        for item in items
        if item.stage in stages and item.state == OPEN
    ]


def window_unmet(
    to: str, go_live_at: datetime | None, hours: int | None, now: datetime
) -> list[Unmet]:
    """Completing waits for the monitoring window the template states; earlier is
    an override."""
    if to != COMPLETE or not hours or go_live_at is None:
        return []
    ends = go_live_at + timedelta(hours=hours)
    if now >= ends:
        return []
    return [
        Unmet(
            key="window",
            kind="window",
            needs="the monitoring window to end:",
            label=f"{hours} h after go-live, at {ends:%Y-%m-%d %H:%M} UTC",
            anchor="run-header",
        )
    ]


@dataclass(frozen=True)
class ContactState:
    pk: int
    role: str
    filled_in: bool


def contacts_unmet(to: str, contacts: Iterable[ContactState]) -> list[Unmet]:
    """Going live needs a contacts table that reaches people: a row still holding
    the template's placeholders ("[Name]", "@name") is filled in first, or its
    condition overridden (waived, with a reason, audited)."""
    if to != GO_LIVE:
        return []
    return [
        Unmet(
            key=f"contact:{contact.pk}",
            kind="contacts",
            needs="every contact filled in (or waived); not filled in:",
            label=contact.role,
            anchor="run-contacts",
        )
        for contact in contacts
        if not contact.filled_in
    ]


def items_guard(change: StatusChange) -> list[Unmet]:
    if change.to not in NEEDED_STAGES:
        return []
    rows = (
        RunItem.objects.filter(deployment_id=change.deployment.pk, state=OPEN)
        .order_by("phase__position", "position")
        .values_list("pk", "title", "phase__stage", "state")
    )
    return items_unmet(change.to, (ItemState(pk, plain_text(t), s, st) for pk, t, s, st in rows))


def window_guard(change: StatusChange) -> list[Unmet]:
    deployment = change.deployment
    return window_unmet(change.to, deployment.go_live_at, deployment.monitoring_hours, change.now)


def contacts_guard(change: StatusChange) -> list[Unmet]:
    if change.to != GO_LIVE:
        return []
    rows = (
        change.deployment.contacts.filter(filled_in=False)
        .order_by("position")
        .values_list("pk", "role", "filled_in")
    )
    return contacts_unmet(change.to, (ContactState(*row) for row in rows))
