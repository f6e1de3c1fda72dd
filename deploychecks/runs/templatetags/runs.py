from django import template

register = template.Library()

ACTION_LABELS = {
    "deployment.created": "created the deployment",
    "deployment.status": "changed the status",
    "item.ticked": "ticked",
    "item.reopened": "reopened",
    "item.marked_na": "marked N/A",
    "subcheck.ticked": "ticked sub-check",
    "subcheck.reopened": "reopened sub-check",
    "note.added": "added a note to",
    "deviation.added": "recorded a deviation on",
}


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@register.simple_tag
def status_after(event) -> str:
    after = event.after or {}
    return after.get("status", "").replace("_", " ")
