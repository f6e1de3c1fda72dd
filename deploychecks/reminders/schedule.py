"""The default stabilization schedule, and turning schedule minutes into times.

`DEFAULT_SCHEDULE` mirrors the "Stabilization reminders" table of the built-in
template (checklists/default_template.md). Every new template revision starts
with its predecessor's rules, or with this schedule when it has none.

REMINDER_TIME_SCALE compresses the schedule for demos and tests: with 60, one
minute of schedule passes in one second of real time.
"""

from datetime import datetime, timedelta

from django.conf import settings

from deploychecks.reminders.models import ReminderRule

TEAM = ["lead", "engineers"]
EVERYONE = ["lead", "engineers", "approvers"]

# (kind, minutes, title, items it concerns, notify); minutes is the offset of a
# one-off, or (start, end, interval) of a repeat.
DEFAULT_SCHEDULE = [
    (
        "repeat",
        (15, 60, 15),
        "Re-run the smoke tests (sign-in, dashboard, key features, search)",
        ["Repeat the smoke tests every 15 minutes"],
        TEAM,
    ),
    (
        "repeat",
        (90, 360, 30),
        "Call the health check endpoint and review the result",
        ["Monitoring rhythm"],
        TEAM,
    ),
    (
        "repeat",
        (120, 360, 60),
        "Work through the feature validation checks",
        ["Monitoring rhythm"],
        TEAM,
    ),
    ("once", 120, "Deployment sync meeting", ["Team check-ins"], EVERYONE),
    ("once", 360, "Status update sync", ["Team check-ins"], EVERYONE),
    ("once", 720, "Team sync", ["Team check-ins"], EVERYONE),
    (
        "once",
        1440,
        "Review: is the system stable enough to return to normal status?",
        ["Return to normal operating status"],
        EVERYONE,
    ),
    (
        "once",
        2880,
        "Review the daily metrics and alerts",
        ["Daily metrics review", "Alerts still armed"],
        EVERYONE,
    ),
    (
        "once",
        4320,
        "Final review and post-deployment debrief",
        ["Final validation", "Post-deployment debrief"],
        EVERYONE,
    ),
]


def default_rules(revision) -> list[ReminderRule]:
    rules = []
    for position, (kind, minutes, title, items, notify) in enumerate(DEFAULT_SCHEDULE, start=1):
        rule = ReminderRule(
            revision=revision,
            position=position,
            kind=kind,
            title=title,
            items=list(items),
            notify=list(notify),
        )
        if kind == "once":
            rule.offset_minutes = minutes
        else:
            rule.start_minutes, rule.end_minutes, rule.interval_minutes = minutes
        rules.append(rule)
    return rules


def rules_for_new_revision(revision) -> list[ReminderRule]:
    """The previous revision's rules (edited by an admin, perhaps), else the default."""
    previous = ReminderRule.objects.filter(
        revision__template_id=revision.template_id, revision__number__lt=revision.number
    ).order_by("-revision__number", "position")
    latest_number = previous.values_list("revision__number", flat=True).first()
    if latest_number is None:
        return default_rules(revision)
    copied = []
    for rule in previous.filter(revision__number=latest_number):
        rule.pk = None
        rule._state.adding = True
        rule.revision = revision
        copied.append(rule)
    return copied


def give_new_revision_rules(sender, instance, created, raw=False, **kwargs):
    """post_save of TemplateRevision: a new revision gets its reminder schedule."""
    if not created or raw:
        return
    ReminderRule.objects.bulk_create(rules_for_new_revision(instance))


def schedule_delta(minutes: float) -> timedelta:
    """Real time for `minutes` of schedule, compressed by REMINDER_TIME_SCALE."""
    return timedelta(minutes=minutes) / settings.REMINDER_TIME_SCALE


def due_at(go_live_at: datetime, offset_minutes: int) -> datetime:
    return go_live_at + schedule_delta(offset_minutes)
