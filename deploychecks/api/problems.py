"""Every API error as one JSON shape: RFC 9457 problem details.

{"type": "urn:deploychecks:problem:<kind>", "title": …, "status": …, "detail": …}
plus, where they apply, `current` (409: the object as it is now), `unmet`
(the gate's conditions, as the run page lists them) and `errors` (what did
not validate). `application/problem+json`, as the RFC says.
"""

from django.http import JsonResponse

from deploychecks.core.errors import (
    GateClosed,
    IllegalTransition,
    MentionRefused,
    NoAccess,
    NotAllowed,
    RunError,
    StaleVersion,
)
from deploychecks.core.problems import TITLES

CONTENT_TYPE = "application/problem+json"


def problem(status: int, kind: str, detail: str, *, headers=None, **extra) -> JsonResponse:
    body = {
        "type": f"urn:deploychecks:problem:{kind}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    response = JsonResponse(body, status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_run_error(exc: RunError, current=None) -> JsonResponse:
    """The service refusals (core.errors) as problems; `current` is the state a
    409 carries (the item, sub-check or deployment as it is now)."""
    if isinstance(exc, GateClosed):
        return problem(
            409,
            "gate-closed",
            exc.message,
            unmet=[condition.as_dict() for condition in exc.unmet],
            current=current,
        )
    if isinstance(exc, StaleVersion):
        return problem(409, "stale-version", exc.message, current=current)
    if isinstance(exc, IllegalTransition):
        return problem(409, "illegal-transition", exc.message, current=current)
    if isinstance(exc, MentionRefused):
        return problem(422, "mention-refused", exc.message, refused=exc.names)
    if isinstance(exc, NoAccess):
        return problem(404, "not-found", exc.message)
    if isinstance(exc, NotAllowed):
        return problem(403, "not-allowed", exc.message)
    return problem(400, "refused", exc.message)
