"""gate.opened: the gate of a deployment's next step went from closed to open.

The next step is the gated transition its status allows (in progress → go
live, monitoring → complete). Its gate is judged by runs.status.gate, the same
guards the page and change_status ask, after each change that can open it (an
item or sub-check, a sign-off given, a verdict), within that change's
transaction; `GateState` keeps the last answer, so an event is written only
when closed becomes open. A status change starts a new gate: it is written at
once if that gate is already open.

The gate is judged only while some subscription wants gate.opened for the
deployment: the guards cost several queries, and a tick must stay cheap. When
nobody listens the state is not kept, so the first change judged after someone
subscribes only sets the state down (an unknown state is never "opened").
"""

from django.utils import timezone

from deploychecks.runs import status
from deploychecks.runs.models import Deployment
from deploychecks.webhooks import outbox, payloads
from deploychecks.webhooks.models import GateState

GATED = set(payloads.GATE_NAMES)
EVENT = "gate.opened"


def next_gated(deployment: Deployment) -> str | None:
    """The gated transition the deployment's status leads to, if any."""
    options = sorted(status.TRANSITIONS[deployment.status] & GATED)
    return options[0] if options else None


def judge(deployment: Deployment, *, new_gate: bool = False) -> None:
    """Judge the next gate after a change; write gate.opened if it just opened.

    `new_gate`: the status changed, so the gate now judged did not exist before
    (counts as closed). Otherwise a gate without a remembered state is only
    remembered.
    """
    listening = outbox.subscribers(deployment, EVENT)
    if not listening:
        return
    to = next_gated(deployment)
    if to is None:
        GateState.objects.filter(deployment=deployment).delete()
        return
    is_open = not status.gate(deployment, to)
    state = GateState.objects.filter(deployment=deployment).first()
    if new_gate:
        was_open = False
    elif state is not None and state.to_status == to:
        was_open = state.is_open
    else:
        was_open = None  # unknown: remember, tell nothing
    GateState.objects.update_or_create(
        deployment=deployment,
        defaults={"to_status": to, "is_open": is_open, "checked_at": timezone.now()},
    )
    if is_open and was_open is False:
        outbox.record(deployment, EVENT, lambda: payloads.gate_opened(to), subscriptions=listening)
