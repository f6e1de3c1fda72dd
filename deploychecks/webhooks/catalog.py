"""The event types a subscription can choose, in the order the form lists them."""

EVENT_TYPES = {
    "deployment.created": "A deployment was created",
    "deployment.status_changed": "Its status changed (started, live, completed, rolled back…)",
    "item.changed": "An item or sub-check was ticked, reopened or marked N/A",
    "signoff.changed": "A sign-off was given (approved or rejected) or went stale",
    "verdict.changed": "The go/no-go verdict changed level",
    "rollback.started": "A rollback was started",
    "rollback.step_done": "A rollback step was done",
    "rollback.finished": "The rollback finished (rolled back)",
    "reminder.sent": "A stabilization reminder went out",
    "gate.opened": "The gate of the next step (go live, complete) opened",
    "status_update.posted": "The lead posted a status update",
}
EVENT_CHOICES = list(EVENT_TYPES.items())
