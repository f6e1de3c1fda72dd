from django import template

from deploychecks.reminders.centre import centre_context
from deploychecks.reminders.models import ReminderRule, format_minutes

register = template.Library()


@register.inclusion_tag("reminders/centre.html#bell", takes_context=True)
def reminder_centre(context, deployment):
    """The bell, its notification centre and the toast area of the run page."""
    request = context.get("request")
    return {
        **centre_context(deployment, user=request.user if request else None),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("reminders/rules.html#summary")
def reminder_rules_summary(revision, can_manage=False):
    """The reminder schedule of a template revision, for its page."""
    rules = list(ReminderRule.objects.filter(revision=revision).order_by("position"))
    return {"rules": rules, "revision": revision, "can_manage": can_manage}


@register.filter
def schedule_minutes(minutes) -> str:
    return format_minutes(int(minutes))


@register.filter
def duration_short(delta) -> str:
    """A timedelta as '3 s', '4 min 10 s', '2 h 5 min'."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
