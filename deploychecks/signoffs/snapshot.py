"""The checklist as a sign-off saw it: its hash, and a compact copy kept on the SignOff.

The hash says *that* the checklist changed since; the snapshot says *what* was
approved (each item's state and version, each sub-check's, and the counts), so
the record can show "approved at 61 of 89 done, 3 N/A" and which items were
still open, even after the checklist moved on.
"""

import hashlib
import json
from dataclasses import dataclass, field

from deploychecks.runs.models import RunItem, RunSubCheck

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class ChecklistState:
    items: list[tuple[int, str, int]]  # (id, state, version), by id
    subchecks: list[tuple[int, int, bool, int]]  # (id, item id, done, version), by id


def checklist_state(deployment_id: int) -> ChecklistState:
    """Every item's and sub-check's state and version, now (two queries)."""
    items = (
        RunItem.objects.filter(deployment_id=deployment_id)
        .order_by("pk")
        .values_list("pk", "state", "version")
    )
    subchecks = (
        RunSubCheck.objects.filter(item__deployment_id=deployment_id)
        .order_by("pk")
        .values_list("pk", "item_id", "done", "version")
    )
    return ChecklistState(items=list(items), subchecks=list(subchecks))


def hash_of(state: ChecklistState) -> str:
    """SHA-256 over every item's (id, state, version) and sub-check's (id, done).

    The payload is the one sign-offs have always hashed (stored hashes and
    seed_history's copy of it stay comparable): no sub-check versions in it.
    """
    payload = json.dumps(
        {
            "items": [list(item) for item in state.items],
            "subchecks": [[pk, done] for pk, _, done, _ in state.subchecks],
        },
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def snapshot_of(state: ChecklistState) -> dict:
    """The compact copy stored on the SignOff (checklist_snapshot)."""
    states = [item_state for _, item_state, _ in state.items]
    return {
        "v": SNAPSHOT_VERSION,
        "items": [list(item) for item in state.items],
        "subchecks": [list(sub) for sub in state.subchecks],
        "counts": {
            "items": len(states),
            "done": states.count(RunItem.State.DONE),
            "na": states.count(RunItem.State.NA),
            "open": states.count(RunItem.State.OPEN),
            "subchecks": len(state.subchecks),
            "subchecks_done": sum(1 for _, _, done, _ in state.subchecks if done),
        },
    }


@dataclass
class SignedState:
    """A sign-off's snapshot, told for the record page."""

    counts: dict
    open_items: list = field(default_factory=list)  # RunItems (or their titles) open then
    open_subchecks: int = 0

    @property
    def summary(self) -> str:
        c = self.counts
        return f"{c['done']} of {c['items']} done, {c['na']} N/A"


def signed_state(snapshot: dict, items_by_id: dict) -> SignedState | None:
    """What a stored snapshot says, with the open items looked up in `items_by_id`
    (id -> RunItem); None for a sign-off made before snapshots were kept."""
    if not snapshot or "counts" not in snapshot:
        return None
    open_ids = [pk for pk, item_state, _ in snapshot["items"] if item_state == RunItem.State.OPEN]
    counts = snapshot["counts"]
    return SignedState(
        counts=counts,
        open_items=[items_by_id[pk] for pk in open_ids if pk in items_by_id],
        open_subchecks=counts["subchecks"] - counts["subchecks_done"],
    )
