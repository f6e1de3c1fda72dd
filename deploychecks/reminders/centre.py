"""What the run page's notification centre, its toasts and the reminder emails show."""

from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Deployment, RunItem

CENTRE = "reminders/centre.html"
# Shown in the bell: everything that went out, newest first.
DELIVERED = [Reminder.Status.SENT, Reminder.Status.LATE, Reminder.Status.ACKNOWLEDGED]


def reminder_context(reminder: Reminder) -> dict:
    """What the toast, the emails and a centre entry need to show one reminder."""
    items = list(RunItem.objects.filter(pk__in=reminder.item_ids).only("pk", "title"))
    items.sort(key=lambda i: reminder.item_ids.index(i.pk))
    return {"reminder": reminder, "deployment": reminder.deployment, "items": items}


def centre_context(deployment, *, user=None, error: str = "", limit: int = 30) -> dict:
    """The bell of `user`: a mention of someone else is theirs, not in it (filtered
    here, not in SQL: SQLite has no JSON `contains`). No user: every reminder."""
    delivered = [
        reminder
        for reminder in Reminder.objects.filter(deployment=deployment, status__in=DELIVERED)
        .prefetch_related("deliveries")
        .order_by("-due_at", "-pk")[: limit * 2]
        if user is None or reminder.is_for(user)
    ][:limit]
    item_ids = {pk for r in delivered for pk in r.item_ids}
    titles = dict(RunItem.objects.filter(pk__in=item_ids).values_list("pk", "title"))
    for reminder in delivered:
        reminder.items = [(pk, titles[pk]) for pk in reminder.item_ids if pk in titles]
        reminder.failures = [
            d
            for d in reminder.deliveries.all()
            if d.status == "failed" or (d.status == "pending" and d.last_error)
        ]
    # The bell counts what still asks for action while the deployment runs (an
    # overdue item's reminder goes out in progress too); once it has ended (its
    # pending reminders cancelled), nothing does, acknowledged or not.
    open_count = (
        sum(
            1
            for reminder in Reminder.objects.filter(
                deployment=deployment, status__in=[Reminder.Status.SENT, Reminder.Status.LATE]
            ).only("kind", "notify")
            if user is None or reminder.is_for(user)
        )
        if deployment.status in (Deployment.Status.IN_PROGRESS, Deployment.Status.MONITORING)
        else 0
    )
    next_due = (
        Reminder.objects.filter(deployment=deployment, status=Reminder.Status.PENDING)
        .order_by("due_at")
        .first()
    )
    failing = sorted({d.get_channel_display().lower() for r in delivered for d in r.failures})
    return {
        "deployment": deployment,
        "delivered": delivered,
        "open_count": open_count,
        "next_due": next_due,
        "centre_error": error,
        "failing": failing,
    }
