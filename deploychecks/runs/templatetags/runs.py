from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from deploychecks.core.text import NOTE_MAX, REASON_MAX
from deploychecks.runs import hooks

register = template.Library()

# The text fields of an item row: their limits (as the services check them) and
# the prefix of their ids ("note-12", "na-12").
TEXT_LIMITS = {"note": NOTE_MAX, "reason": REASON_MAX}
FIELD_IDS = {"note": "note", "reason": "na"}


@register.simple_tag
def text_limit(kind: str) -> int:
    return TEXT_LIMITS[kind]


@register.simple_tag
def char_counter(kind: str, item_pk: int, text: str):
    """The live counter under a text field: "1,980 / 2,000", or how far over the
    limit it is. static/js/app.js keeps it current as the person types."""
    limit, length = TEXT_LIMITS[kind], len(text or "")
    words = f"{length:,} / {limit:,}"
    if length > limit:
        words += f": {length - limit:,} over the limit"
    return format_html(
        '<small id="{}-{}-count" class="char-count{}" aria-live="polite">{}</small>',
        FIELD_IDS[kind],
        item_pk,
        " over" if length > limit else "",
        words,
    )


ACTION_LABELS = {
    "deployment.created": "created the deployment",
    "deployment.status": "changed the status",
    "item.ticked": "ticked",
    "item.reopened": "reopened",
    "item.marked_na": "marked N/A",
    "item.owners_changed": "changed the owners or due time of",
    "item.overdue": "saw an item fall overdue:",
    "subcheck.ticked": "ticked sub-check",
    "subcheck.reopened": "reopened sub-check",
    "note.added": "added a note to",
    "deviation.added": "recorded a deviation on",
    "evidence.added": "added evidence to",
    "participant.added": "added a participant:",
    "participant.changed": "changed the role of",
    "participant.removed": "removed a participant:",
    "contacts.changed": "changed the contacts",
    "signoff.approved": "approved",
    "signoff.rejected": "rejected",
    "signoff.stale": "made stale",
    "approver.assigned": "assigned an approver:",
    "approver.removed": "removed an approver:",
    "deployment.completion_override": "overrode the sign-off gate to complete",
    "reading.recorded": "recorded a reading:",
    "signal.grade_changed": "saw a grade change:",
    "verdict.changed": "saw the verdict change:",
    "rollback.started": "started the rollback:",
    "rollback.step_completed": "finished rollback step",
    "rollback.completed": "completed the rollback",
    "ingest_token.created": "created an ingest token",
    "ingest_token.revoked": "revoked an ingest token",
    "statuspage.enabled": "published the status page",
    "statuspage.disabled": "turned off the status page",
    "statuspage.rotated": "gave the status page a new URL",
    "statuspage.message": "posted a status message",
    "status_update.posted": "posted a status update",
    "status_update.followed": "followed the status updates",
    "status_update.unfollowed": "stopped following the status updates",
    "status_update.cadence_set": "set the status update cadence",
    "retro.opened": "opened the retrospective",
    "retro.section_edited": "edited the retrospective",
    "retro.follow_up_added": "added a follow-up",
    "retro.follow_up_done": "marked a follow-up done",
    "retro.follow_up_reopened": "reopened a follow-up",
    "retro.published": "published the retrospective",
    "reminders.scheduled": "scheduled the stabilization reminders",
    "reminders.cancelled": "cancelled the pending reminders",
    "reminders.webhook_changed": "changed the reminder webhook",
    "reminder.sent": "sent the reminder",
    "reminder.missed": "skipped a missed reminder:",
    "reminder.escalated": "escalated the reminder",
    "reminder.acknowledged": "acknowledged",
    "deployment.go_live_moved": "moved the go-live time",
    "note.edited": "edited a note on",
    "note.deleted": "deleted a note on",
    "deviation.edited": "edited a deviation on",
    "deviation.deleted": "deleted a deviation on",
    "mention.notified": "mentioned someone on",
    "deployment.override": "overrode the gate, moving",
    "audit.reanchored": "re-anchored the audit chain",
    "reminder_rules.changed": "changed the reminder rules",
    "signals.changed": "changed the go/no-go signals of",
    "template.signoff_rules": "changed the sign-off rules of",
    "template_gates.changed": "changed the gates of",
    "webhook.subscribed": "subscribed a webhook:",
    "webhook.subscription_changed": "changed a webhook subscription:",
    "webhook.enabled": "turned on a webhook:",
    "webhook.disabled": "turned off a webhook:",
    "webhook.redelivered": "redelivered a webhook event:",
}


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@register.simple_tag
def status_after(event) -> str:
    after = event.after or {}
    return after.get("status", "").replace("_", " ")


@register.simple_tag
def reltime(value, suffix: str = "ago"):
    """A <time> the browser shows as relative ("5 minutes ago"), to the minute.

    The server writes the absolute time (right without JavaScript, and the
    same whenever it is rendered, so a rendered checklist can be reused from
    the cache); static/js/app.js rewrites it as "N minutes <suffix>" and keeps
    it current. The exact time is in the title.
    """
    if not value:
        return ""
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}" data-relative="{}">{}</time>',
        local.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        suffix,
        local.strftime("%b %d, %H:%M"),
    )


@register.filter
def notes_kept(notes) -> int:
    """How many of an item's notes are not deleted (the count on the item's line)."""
    return sum(1 for note in notes if not note.is_deleted)


@register.filter
def note_thread(notes) -> list:
    """An item's notes (in the order written) as (note, depth) in thread order:
    each reply right under the note it answers, one level deeper (at most 3,
    so a long exchange stays readable on a phone)."""
    notes = list(notes)
    children: dict = {}
    ids = {n.pk for n in notes}
    for note in notes:
        parent = note.reply_to_id if note.reply_to_id in ids else None
        children.setdefault(parent, []).append(note)
    ordered: list = []
    # Depth first without recursion: a chain of replies may be long.
    stack = [(note, 0) for note in reversed(children.get(None, []))]
    while stack:
        note, depth = stack.pop()
        ordered.append((note, min(depth, 3)))
        stack.extend((reply, depth + 1) for reply in reversed(children.get(note.pk, [])))
    return ordered


@register.simple_tag(takes_context=True)
def run_slot(context, slot: str):
    """What the features put in `slot` of the run page (runs.hooks.slots), each
    rendered as an include would: with this context, pushed (what a template sets
    stays in it), from the engine's cached loader."""
    names = hooks.slots.templates(slot)
    if not names:
        return ""
    engine = context.template.engine
    with context.push():
        return mark_safe(  # noqa: S308  rendered templates, escaped by the engine
            "".join(engine.get_template(name).render(context) for name in names)
        )


@register.filter
def note_text(text):
    """A note's text as the run page shows it: escaped, and what the features add
    (@names highlighted, by deploychecks.mentions)."""
    return hooks.format_note_text(text)
