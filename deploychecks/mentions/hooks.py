"""What mentions do when a note is saved (registered in apps.py)."""

from deploychecks.mentions import services
from deploychecks.runs import hooks


def notify_mentioned(event: hooks.NoteSaved) -> None:
    """Refuse a note that @mentions someone not on the deployment; tell the others."""
    services.notify_mentioned(
        deployment=event.deployment,
        item=event.item,
        note=event.note,
        actor=event.actor,
        previous_body=event.previous_body,
        request=event.request,
    )
