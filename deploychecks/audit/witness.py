"""The witness: the chain's head, written now and then to a file outside the database.

The hash chain proves that no event was altered, inserted or removed in the
middle, but not that none was removed from the end: the shortened chain is
still a valid chain. So beat appends the head (the newest event's id and hash)
to an append-only file, AUDIT_WITNESS_PATH, every AUDIT_WITNESS_SECONDS when
it moved; `verify_audit` then requires every witnessed event to be still there
with the same hash. Each line carries an HMAC under the audit key, so a line
added or edited by someone without the key is refused too.

Keep the file where the database's roles cannot write (docker-compose puts it
on its own volume), and make it append-only there if you can (`chattr +a`).
Events newer than the last witness line are covered by the chain alone: that
is the window, AUDIT_WITNESS_SECONDS, in which a deleted tail goes unnoticed.
"""

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .models import AuditEvent
from .services import mac

_PREFIX = "deploychecks-audit-witness:"


@dataclass(frozen=True)
class Sighting:
    """One witness line: at `at`, the newest event was `event_id` with `hash`."""

    line: int
    at: datetime
    event_id: int
    hash: str


def write_head(path: Path | None = None, *, using: str = "default") -> Sighting | None:
    """Append the chain's current head to the witness, unless it is already the last line.

    Returns the new sighting, or None when the chain is empty or did not move.
    """
    path = Path(path or settings.AUDIT_WITNESS_PATH)
    head = AuditEvent.objects.using(using).order_by("-id").values_list("id", "hash").first()
    if head is None:
        return None
    event_id, event_hash = head
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: every write lands at the end, whoever else has the file open;
    # the lock keeps two writers (a second beat by mistake) from both appending
    # the same head.
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        last = _last_line(file)
        if last is not None and _same_head(last, event_id, event_hash):
            return None
        at = timezone.now().isoformat(timespec="seconds")
        body = {"at": at, "id": event_id, "hash": event_hash}
        body["mac"] = mac(_PREFIX + _signed_text(body))
        file.write((json.dumps(body, separators=(",", ":")) + "\n").encode())
        file.flush()
        os.fsync(file.fileno())
    return Sighting(0, datetime.fromisoformat(at), event_id, event_hash)


def check(path: Path | None = None, *, using: str = "default") -> tuple[int, list[str]]:
    """Compare the chain with the witness: (sightings read, problems found).

    Names each witnessed event that is gone (deleted from the end, or from the
    middle) or whose hash changed, and each line that is not the witness's own.
    A missing file is a problem once the chain has events; an empty one is none.
    """
    path = Path(path or settings.AUDIT_WITNESS_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if not AuditEvent.objects.using(using).exists():
            return 0, []
        return 0, [f"no witness file at {path}: events deleted from the end cannot be found"]
    sightings, problems = _parse(text)
    if not sightings:
        return 0, problems
    events = AuditEvent.objects.using(using)
    newest = events.order_by("-id").values_list("id", flat=True).first() or 0
    stored = {}
    ids = sorted({s.event_id for s in sightings})
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        stored.update(events.filter(id__in=chunk).values_list("id", "hash"))
    for sighting in sightings:
        seen = f"seen by the witness at {sighting.at.isoformat()} (line {sighting.line})"
        actual = stored.get(sighting.event_id)
        if actual is None and sighting.event_id > newest:
            problems.append(
                f"event {sighting.event_id} is missing: the chain ends at event {newest}, but "
                f"event {sighting.event_id} was {seen}; events were deleted from the end"
            )
        elif actual is None:
            problems.append(f"event {sighting.event_id} is missing; it was {seen}")
        elif actual != sighting.hash:
            problems.append(
                f"event {sighting.event_id} is not the event {seen}: its hash changed "
                "(the chain was rewritten from there on)"
            )
    return len(sightings), problems


def _parse(text: str) -> tuple[list[Sighting], list[str]]:
    sightings, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            body = json.loads(raw)
            signed = body.pop("mac")
            valid = mac(_PREFIX + _signed_text(body)) == signed
            sighting = Sighting(
                number, datetime.fromisoformat(body["at"]), int(body["id"]), str(body["hash"])
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"witness line {number} is not a witness line")
            continue
        if not valid:
            problems.append(
                f"witness line {number} was not written with the audit key (forged or edited)"
            )
            continue
        sightings.append(sighting)
    return sightings, problems


def _signed_text(body: dict) -> str:
    return f"{body['at']}|{body['id']}|{body['hash']}"


def _same_head(line: str, event_id: int, event_hash: str) -> bool:
    try:
        body = json.loads(line)
    except ValueError:
        return False
    return body.get("id") == event_id and body.get("hash") == event_hash


def _last_line(file) -> str | None:
    # Read backwards from the end: the file grows by one line a minute at most,
    # but may be years long.
    file.seek(0, os.SEEK_END)
    end = file.tell()
    if end == 0:
        return None
    size = min(end, 4096)
    file.seek(end - size)
    tail = file.read(size).decode("utf-8", errors="replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else None
