"""The two bodies a subscription can ask for: Standard Webhooks JSON, or Slack's.

Standard: `{"type", "timestamp", "data"}`, the payload shape the Standard
Webhooks specification recommends; `data` is the stored event (payloads.py).
Slack-compatible: `{"text": …}`, one readable line with a link to the
deployment, for incoming webhooks of Slack, Mattermost, Rocket.Chat or Teams'
Slack connector. Both are signed the same way.
"""

from deploychecks.webhooks.models import Event, Subscription

EMOJI = {
    "deployment.created": ":clipboard:",
    "deployment.status_changed": ":arrow_forward:",
    "item.changed": ":white_check_mark:",
    "signoff.changed": ":pencil:",
    "verdict.changed": ":traffic_light:",
    "rollback.started": ":rotating_light:",
    "rollback.step_done": ":leftwards_arrow_with_hook:",
    "rollback.finished": ":leftwards_arrow_with_hook:",
    "reminder.sent": ":alarm_clock:",
    "gate.opened": ":unlock:",
    "status_update.posted": ":loudspeaker:",
}


def body_of(event: Event, format: str) -> dict:  # noqa: A002  the subscription's field
    if format == Subscription.Format.SLACK:
        return {"text": slack_text(event)}
    return {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.payload,
    }


def slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters, escaped as Slack asks: user text (a
    release name, a note) must not become a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(event: Event) -> str:
    data = event.payload
    deployment = data["deployment"]
    what = slack_escape(
        f"{deployment['service']} {deployment['version']} ({deployment['environment']})"
    )
    line = slack_escape(data.get("summary") or event.type)
    emoji = EMOJI.get(event.type, ":information_source:")
    return f"{emoji} *{what}* {line} <{deployment['url']}|Open the deployment>"
