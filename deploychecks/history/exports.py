"""A deployment's record as Markdown, CSV and JSON (the PDF is in exports_pdf.py).

Every builder takes the DeploymentRecord of history.record, so the exports
say exactly what the record page says. Times are UTC, ISO 8601 in CSV and
JSON. The JSON layout is documented in docs/export-schema.md.
"""

import csv
import datetime
import io
import json

from django.core.serializers.json import DjangoJSONEncoder

from deploychecks.checklists.exporter import (
    container_lines,
    heading,
    item_lines,
    run_item_key,
    step_lines,
)
from deploychecks.core import provenance
from deploychecks.history.record import DeploymentRecord, StepRecord
from deploychecks.runs.models import RunItem

SCHEMA_VERSION = 2
FORMAT_LABELS = {"md": "Markdown", "csv": "CSV", "json": "JSON", "pdf": "PDF"}
CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
}


def utc(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat() if value else None


def _utc_text(value: datetime.datetime | None) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _seconds(delta: datetime.timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


# --- Markdown ----------------------------------------------------------------------
#
# The file is the checklist as it was worked through, and it re-imports as a
# template (checklists.parser reads it back into the same phases, sections,
# steps, items and sub-checks). Who did what, and when, sits in a blockquote
# under each item: the parser keeps indented lines under an item as its
# details, so they never become items, sub-checks or titles.


def _one_line(text: str) -> str:
    """User text for an annotation: one line, no HTML for a renderer to run and no
    Markdown link or image (brackets escaped)."""
    text = " ".join(str(text).split()).replace("<", "&lt;")
    return text.replace("[", "\\[").replace("]", "\\]")


def _via(item: RunItem) -> str:
    """ " · by CI · [GitHub Actions run 1234](…) · [a1b2c3d](…)" for a change made
    through the API; the texts escaped, the links http(s) only (core.provenance)."""
    pieces = [
        f"[{_one_line(text)}](<{_link(url)}>)" if url else _one_line(text)
        for text, url in provenance.parts(item.changed_via)
    ]
    return " · " + " · ".join(pieces) if pieces else ""


def _link(url: str) -> str:
    return url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def _annotations(item: RunItem) -> list[str]:
    notes = []
    if item.state == RunItem.State.DONE:
        notes.append(
            f"✓ Done by {_one_line(item.changed_by_name)} at {_utc_text(item.changed_at)}"
            + _via(item)
        )
    elif item.state == RunItem.State.NA:
        notes.append(
            f"N/A: {_one_line(item.na_reason)} (marked by "
            f"{_one_line(item.changed_by_name)} at {_utc_text(item.changed_at)})" + _via(item)
        )
    elif item.changed_at:
        notes.append(
            f"Reopened by {_one_line(item.changed_by_name)} at {_utc_text(item.changed_at)}"
            + _via(item)
        )
    for sub in item.subchecks_list:
        if sub.changed_at:
            verb = "ticked" if sub.done else "reopened"
            notes.append(
                f"Sub-check “{_one_line(sub.title)}” {verb} by "
                f"{_one_line(sub.changed_by_name)} at {_utc_text(sub.changed_at)}"
            )
    for note in item.notes_list:
        notes.append(
            f"{note.get_kind_display()} by {_one_line(note.author_name)} at "
            f"{_utc_text(note.created_at)}: {_one_line(note.text)}"
        )
    for evidence in item.evidence_list:
        notes.append(
            f"Evidence by {_one_line(evidence.added_by_name)} at "
            f"{_utc_text(evidence.created_at)}: {_evidence_text(evidence)}"
        )
    lines = []
    for text in notes:
        lines += [">", f"> {text}"] if lines else [f"> {text}"]
    return lines


def _evidence_text(evidence) -> str:
    """A link as a Markdown link (http(s) only, as stored); a file by its name,
    size and SHA-256, which identify it in the record without its bytes."""
    if evidence.kind == "link":
        return f"[{_one_line(evidence.title)}](<{_link(evidence.url)}>)"
    return (
        f"{_one_line(evidence.title)} (file {_one_line(evidence.filename)}, "
        f"{evidence.size:,} bytes, SHA-256 {evidence.sha256})"
    )


def _item_lines(item: RunItem, pad: str) -> list[str]:
    lines = item_lines(
        item,
        pad,
        done=item.state == RunItem.State.DONE,
        subchecks=[(sub.title, sub.done) for sub in item.subchecks_list],
        key=run_item_key(item),
    )
    lines.extend(f"{pad}  {line}" for line in _annotations(item))
    return lines


def _entry_lines(entry) -> tuple[list[str], bool]:
    if isinstance(entry, StepRecord):
        return step_lines(entry.step, entry.items, _item_lines), True
    return _item_lines(entry, ""), False


_DECIDED = {"approve": "approved", "reject": "rejected"}


def _signoff_lines(record: DeploymentRecord) -> list[str]:
    lines = ["## Approval sign-off", ""]
    for role in record.roles:
        history = [s for s in record.signoffs if s.role_id == role.pk]
        valid = next((s for s in history if s.is_valid), None)
        approved = valid is not None and valid.decision == "approve"
        state = (
            f"{_DECIDED[valid.decision]} by {_one_line(valid.signer_name)} at "
            f"{_utc_text(valid.created_at)}"
            if valid
            else "no valid sign-off"
        )
        lines.append(f"- [{'x' if approved else ' '}] **{role.name}**: {state}")
        for n, s in enumerate(history):
            text = (
                f"{_DECIDED[s.decision].capitalize()} by {_one_line(s.signer_name)} at "
                f"{_utc_text(s.created_at)} on change #{s.checklist_seq} "
                f"({s.checklist_hash[:12]}), {s.get_status_display().lower()}"
            )
            if s.stale_reason:
                text += f": {_one_line(s.stale_reason)}"
            if s.comment:
                text += f"; comment: {_one_line(s.comment)}"
            lines += [f"  > {text}"] if n == 0 else ["  >", f"  > {text}"]
    for o in record.overrides:
        lines.append(
            f"> Gate overridden to {o.get_to_status_display().lower()} by {_one_line(o.by_name)}"
            f" at {_utc_text(o.created_at)} ({_one_line('; '.join(o.labels))}): "
            f"{_one_line(o.reason)}"
        )
    return [*lines, ""]


def to_markdown(record: DeploymentRecord) -> str:
    d = record.deployment
    versions = f"{d.previous_version} → {d.version}" if d.previous_version else d.version
    lead = d.lead.get_full_name() or d.lead.username if d.lead else "—"
    counts = record.counts
    lines = [
        f"# {_one_line(d.template_name)}",
        "",
        f"> **Deployment record #{d.pk}**: {_one_line(d.release_name)} — "
        f"{_one_line(d.service)} {_one_line(versions)} ({_one_line(d.environment)})",
        ">",
        f"> Outcome: {d.get_status_display()} · lead {_one_line(lead)} · started "
        f"{_utc_text(d.started_at)} · go-live {_utc_text(d.go_live_at)} · ended "
        f"{_utc_text(d.ended_at)} · total {record.duration_text}",
        ">",
        f"> {counts['done']} done, {counts['na']} N/A, {counts['open']} open of "
        f"{counts['total']} items. Template “{_one_line(d.template_name)}” "
        f"r{d.revision.number}. This file re-imports as a template.",
        "",
    ]
    for phase in record.phases:
        lines += [f"## {heading(phase.phase.title, phase.phase.timing_label)}", ""]
        lines += container_lines(phase.phase.notes, phase.entries, _entry_lines)
        for section in phase.sections:
            s = section.section
            lines += [f"### {heading(s.title, s.timing_label, s.owners)}", ""]
            lines += container_lines(s.notes, section.entries, _entry_lines)
    if record.contacts:
        lines += [
            "## Contacts and escalation",
            "",
            "| Role | Person | Phone | Chat |",
            "|---|---|---|---|",
        ]
        lines += [
            "| " + " | ".join(_cell(v) for v in (c.role, c.person, c.phone, c.handle)) + " |"
            for c in record.contacts
        ]
        lines.append("")
    if record.roles:
        lines += _signoff_lines(record)
    if record.retro:
        lines += _retro_lines(record.retro)
    return "\n".join(lines).rstrip("\n") + "\n"


def _retro_lines(retro) -> list[str]:
    """The published retrospective. Plain bullets, never task items: re-imported as a
    template it stays a note, not a phase of items; its heading is not the bare
    "Retrospective" that declares a template's retro sections (retros.services)."""
    lines = [
        "## Retrospective (published)",
        "",
        f"> Published by {_one_line(retro.published_by_name)} at {_utc_text(retro.published_at)}.",
        "",
    ]
    for section in retro.sections_list:
        lines += [f"### {_one_line(section.title)}", ""]
        body = [_one_line(line) for line in section.body.splitlines() if line.strip()]
        lines += [*(f"> {line}" for line in body), ""] if body else ["> —", ""]
    lines += ["### Follow-up actions", ""]
    for f in retro.follow_ups_list:
        state = f"done {_utc_text(f.done_at)}" if f.is_done else "open"
        link = f" ({_link(f.link)})" if f.link else ""
        lines.append(
            f"- {_one_line(f.title)}: {_one_line(f.owner_name)}, due {f.due_date.isoformat()}, "
            f"{state}{link}"
        )
    if not retro.follow_ups_list:
        lines.append("- none")
    lines.append("")
    m = retro.metrics or {}
    lines += ["### Metrics", ""]
    lines += [f"- Total duration: {m.get('duration', '—')}"]
    lines += [
        f"- Phase {_one_line(p['title'])}: planned {_one_line(p['planned'])}, step budget "
        f"{p['budget']}, actual {p['actual']}"
        for p in m.get("phases", [])
    ]
    for key, label in RETRO_COUNTS:
        lines.append(f"- {label}: {len(m.get(key) or [])}")
    if m.get("rollback"):
        r = m["rollback"]
        lines.append(
            f"- Rollback: decided in {r['decide']}, took {r['actual']} of {r['budget_minutes']} min"
        )
    return [*lines, ""]


RETRO_COUNTS = (
    ("overrun_steps", "Overrun steps"),
    ("na_items", "Items marked N/A"),
    ("overrides", "Gate overrides"),
    ("stale_signoffs", "Stale sign-offs"),
    ("verdict_changes", "Verdict changes"),
    ("late_acks", "Reminders acknowledged late"),
)


def _cell(value: str) -> str:
    return _one_line(value).replace("|", "/")


# --- CSV ---------------------------------------------------------------------------

CSV_COLUMNS = [
    "phase",
    "section",
    "step",
    "item",
    "subcheck",
    "state",
    "required",
    "changed_by",
    "changed_at",
    "na_reason",
    "note_count",
    "notes",
    "key",
    "via",
    "evidence_required",
    "evidence",
]
# A spreadsheet runs a cell that starts with one of these as a formula.
# A spreadsheet runs a text cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """Numbers as they are, None as empty, text defused against formula injection.

    For every CSV download (these exports and the analytics charts')."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(record: DeploymentRecord) -> str:
    """One row per item and one per sub-check (right after its item)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for phase in record.phases:
        sections = {s.section.pk: s.section.title for s in phase.sections}
        steps = {s.step.pk: f"{s.step.number}. {s.step.title}" for s in phase.steps}
        for item in phase.items:
            where = [
                phase.phase.title,
                sections.get(item.section_id, ""),
                steps.get(item.step_id, ""),
                item.title,
            ]
            notes = " | ".join(
                f"{n.get_kind_display()} by {n.author_name} at {utc(n.created_at)}: {n.text}"
                for n in item.notes_list
            )
            writer.writerow(
                [
                    csv_cell(v)
                    for v in [
                        *where,
                        "",
                        item.state,
                        "yes" if item.required else "no",
                        item.changed_by_name,
                        utc(item.changed_at),
                        item.na_reason,
                        len(item.notes_list),
                        notes,
                        item.key,
                        provenance.describe(item.changed_via),
                        "yes" if item.evidence_required else "no",
                        " | ".join(_evidence_cell(e) for e in item.evidence_list),
                    ]
                ]
            )
            for sub in item.subchecks_list:
                writer.writerow(
                    [
                        csv_cell(v)
                        for v in [
                            *where,
                            sub.title,
                            "done" if sub.done else "open",
                            "",
                            sub.changed_by_name,
                            utc(sub.changed_at),
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                            "",
                        ]
                    ]
                )
    if record.retro:
        writer.writerows([csv_cell(v) for v in row] for row in _retro_rows(record.retro))
    return out.getvalue()


def _evidence_cell(evidence) -> str:
    what = evidence.url if evidence.kind == "link" else f"file {evidence.filename}"
    return f"{evidence.title} ({what}) by {evidence.added_by_name} at {utc(evidence.created_at)}"


def _retro_rows(retro) -> list[list]:
    """The published retrospective after the items, in the same columns: phase
    "Retrospective", section the part (a section's title, "Follow-up actions",
    "Metrics"), item its text, a follow-up's title or a metric's name."""

    def row(section, item, *, state="", by="", at=None, notes="", key=""):
        return [
            "Retrospective",
            section,
            "",
            item,
            "",
            state,
            "",
            by,
            utc(at),
            "",
            "",
            notes,
            key,
            "",
            "",
            "",
        ]

    rows = [row(s.title, s.body, key=f"retro-section-{s.position}") for s in retro.sections_list]
    for f in retro.follow_ups_list:
        notes = f"owner {f.owner_name}; due {f.due_date.isoformat()}"
        if f.link:
            notes += f"; {f.link}"
        rows.append(
            row(
                "Follow-up actions",
                f.title,
                state="done" if f.is_done else "open",
                by=f.done_by_name,
                at=f.done_at,
                notes=notes,
                key=f"retro-follow-up-{f.pk}",
            )
        )
    m = retro.metrics or {}
    rows.append(row("Metrics", "Total duration", notes=m.get("duration", ""), key="retro-duration"))
    for p in m.get("phases", []):
        rows.append(
            row(
                "Metrics",
                f"Phase: {p['title']}",
                notes=f"planned {p['planned']}; step budget {p['budget']}; actual {p['actual']}",
                key="retro-phase",
            )
        )
    for name, label in RETRO_COUNTS:
        rows.append(row("Metrics", label, notes=str(len(m.get(name) or [])), key=f"retro-{name}"))
    if m.get("rollback"):
        r = m["rollback"]
        rows.append(
            row(
                "Metrics",
                "Rollback",
                notes=f"decided in {r['decide']}; took {r['actual']} of {r['budget_minutes']} min",
                key="retro-rollback",
            )
        )
    return rows


# --- JSON --------------------------------------------------------------------------


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.get_full_name()}


def _item(item: RunItem) -> dict:
    return {
        "id": item.pk,
        "key": item.key,
        "position": item.position,
        "section_id": item.section_id,
        "step_id": item.step_id,
        "title": item.title,
        "summary": item.summary,
        "details": item.details,
        "required": item.required,
        "state": item.state,
        "na_reason": item.na_reason,
        "version": item.version,
        "changed_by": item.changed_by_name or None,
        "changed_at": utc(item.changed_at),
        "changed_via": item.changed_via,
        "subchecks": [
            {
                "id": s.pk,
                "position": s.position,
                "title": s.title,
                "done": s.done,
                "changed_by": s.changed_by_name or None,
                "changed_at": utc(s.changed_at),
            }
            for s in item.subchecks_list
        ],
        "notes": [
            {
                "id": n.pk,
                "kind": n.kind,
                "author": n.author_name,
                "body": n.body,  # empty for a deleted note: a tombstone keeps no text
                "created_at": utc(n.created_at),
                "reply_to": n.reply_to_id,
                "edited_at": utc(n.edited_at),
                "deleted_at": utc(n.deleted_at),
                "deleted_by": (n.deleted_by_name or None) if n.deleted_at else None,
            }
            for n in item.notes_list
        ],
        "evidence_required": item.evidence_required,
        "evidence": [
            {
                "id": e.pk,
                "kind": e.kind,
                "title": e.title,
                "url": e.url or None,
                "filename": e.filename or None,
                "content_type": e.content_type or None,
                "size": e.size if e.kind == "file" else None,
                "sha256": e.sha256 or None,
                "note_id": e.note_id,
                "added_by": e.added_by_name,
                "created_at": utc(e.created_at),
            }
            for e in item.evidence_list
        ],
    }


def _phase(p) -> dict:
    steps = [s.step for s in p.steps]
    return {
        "id": p.phase.pk,
        "position": p.phase.position,
        "title": p.phase.title,
        "timing_label": p.phase.timing_label,
        "notes": p.phase.notes,
        "is_rollback": p.phase.is_rollback,
        "actual_start": utc(p.first_change),
        "actual_end": utc(p.last_change),
        "actual_duration_seconds": _seconds(p.duration),
        "counts": p.counts,
        "sections": [
            {
                "id": s.section.pk,
                "position": s.section.position,
                "title": s.section.title,
                "timing_label": s.section.timing_label,
                "notes": s.section.notes,
            }
            for s in p.sections
        ],
        "steps": [
            {
                "id": s.pk,
                "section_id": s.section_id,
                "position": s.position,
                "number": s.number,
                "title": s.title,
                "minutes": s.minutes,
                "notes": s.notes,
            }
            for s in sorted(steps, key=lambda s: s.position)
        ],
        "items": [_item(i) for i in p.items],
    }


def to_data(record: DeploymentRecord) -> dict:
    """The complete record as JSON-ready data (see docs/export-schema.md)."""
    d = record.deployment
    rollback = record.rollback
    return {
        "schema_version": SCHEMA_VERSION,
        "exported_at": utc(datetime.datetime.now(datetime.UTC)),
        "deployment": {
            "id": d.pk,
            "release_name": d.release_name,
            "version": d.version,
            "previous_version": d.previous_version,
            "service": d.service,
            "environment": d.environment,
            "status": d.status,
            "status_label": d.get_status_display(),
            "template_name": d.template_name,
            "template_revision": d.revision.number,
            "lead": _person(d.lead),
            "planned_start": utc(d.planned_start),
            "created_at": utc(d.created_at),
            "started_at": utc(d.started_at),
            "go_live_at": utc(d.go_live_at),
            "ended_at": utc(d.ended_at),
            "duration_seconds": _seconds(record.duration),
            "seq": d.seq,
            "counts": record.counts,
            "overrides": [
                {
                    "to": o.to_status,
                    "by": o.by_name,
                    "reason": o.reason,
                    "at": utc(o.created_at),
                    "conditions": o.conditions,
                }
                for o in record.overrides
            ],
        },
        "participants": [{**_person(p.user), "role": p.role} for p in record.participants],
        "contacts": [
            {"role": c.role, "person": c.person, "phone": c.phone, "handle": c.handle}
            for c in record.contacts
        ],
        "phases": [_phase(p) for p in record.phases],
        "signoff_roles": [r.name for r in record.roles],
        "signoffs": [
            {
                "id": s.pk,
                "role": s.role.name,
                "signer": s.signer_name,
                "decision": s.decision,
                "comment": s.comment,
                "created_at": utc(s.created_at),
                "checklist_seq": s.checklist_seq,
                "checklist_hash": s.checklist_hash,
                "status": s.status,
                "stale_reason": s.stale_reason,
                "invalidated_at": utc(s.invalidated_at),
            }
            for s in record.signoffs
        ],
        "signals": [
            {
                "name": s.name,
                "unit": s.unit,
                "kind": s.kind,
                "direction": s.direction,
                "yellow_at": s.yellow_at,
                "yellow_inclusive": s.yellow_inclusive,
                "red_at": s.red_at,
                "red_inclusive": s.red_inclusive,
                "sustained_minutes": s.sustained_minutes,
                "grade": s.grade or None,
                "readings": [
                    {
                        "value": r.value,
                        "observed_at": utc(r.observed_at),
                        "source": r.source,
                        "recorded_by": r.recorded_by_name or None,
                        "note": r.note,
                    }
                    for r in s.readings_list
                ],
            }
            for s in record.signals
        ],
        "verdict_changes": [
            {
                "event_id": e.pk,
                "at": utc(e.created_at),
                "actor": e.actor_name or None,
                "from": (e.before or {}).get("level"),
                "to": (e.after or {}).get("level"),
                "rule": (e.after or {}).get("rule", ""),
            }
            for e in record.verdict_changes
        ],
        "reminders": [
            {
                "id": r.pk,
                "title": r.title,
                "offset_minutes": r.offset_minutes,
                "due_at": utc(r.due_at),
                "status": r.status,
                "sent_at": utc(r.sent_at),
                "late_by_seconds": _seconds(r.late_by),
                "acknowledged_by": r.acknowledged_by_name or None,
                "acknowledged_at": utc(r.acknowledged_at),
                "acknowledged_note": r.acknowledged_note,
                "escalated_at": utc(r.escalated_at),
                "escalated_to": r.escalated_to,
            }
            for r in record.reminders
        ],
        "rollback": None
        if rollback is None
        else {
            "reason": rollback.reason,
            "started_by": rollback.started_by_name,
            "started_at": utc(rollback.started_at),
            "completed_at": utc(rollback.completed_at),
            "decide_seconds": rollback.decide_seconds,
            "budget_minutes": rollback.budget_minutes,
            "actual_seconds": _seconds(record.rollback_actual),
        },
        "retrospective": _retro_data(record.retro),
        "audit": {
            "verified": record.chain.ok,
            "event_count": record.chain.count,
            "first_bad_event_id": record.chain.bad_event_id,
            "problem": record.chain.reason or None,
            "events": [
                {
                    "id": e.pk,
                    "seq": e.seq,
                    "created_at": utc(e.created_at),
                    "actor": e.actor_name or None,
                    "action": e.action,
                    "target_type": e.target_type,
                    "target_id": e.target_id,
                    "target_repr": e.target_repr,
                    "before": e.before,
                    "after": e.after,
                    "via": e.via,
                    "request_id": e.request_id,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in record.events
            ],
        },
    }


def _retro_data(retro) -> dict | None:
    if retro is None:
        return None
    return {
        "published_at": utc(retro.published_at),
        "published_by": retro.published_by_name,
        "outcome": retro.outcome,
        "sections": [{"title": s.title, "body": s.body} for s in retro.sections_list],
        "follow_ups": [
            {
                "id": f.pk,
                "title": f.title,
                "owner": f.owner_name,
                "due_date": f.due_date.isoformat(),
                "link": f.link,
                "done": f.is_done,
                "done_at": utc(f.done_at),
                "done_by": f.done_by_name or None,
            }
            for f in retro.follow_ups_list
        ],
        "metrics": retro.metrics,
    }


def to_json(record: DeploymentRecord) -> str:
    return json.dumps(to_data(record), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


def build(record: DeploymentRecord, fmt: str) -> str | bytes:
    if fmt == "pdf":
        from deploychecks.history.exports_pdf import to_pdf  # WeasyPrint is slow to import

        return to_pdf(record)
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](record)
