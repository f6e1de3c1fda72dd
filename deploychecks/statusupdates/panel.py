"""What the run page shows of status updates: the latest at the top, the earlier
ones folded, the follow button, and the lead's form (runs.hooks.run_page)."""

from deploychecks.statusupdates.cadence import due_at
from deploychecks.statusupdates.models import Cadence, Follower, StatusUpdate
from deploychecks.statusupdates.services import BODY_MAX

EARLIER_SHOWN = 20


def panel_context(
    deployment,
    user,
    role,
    *,
    error: str = "",
    typed=None,
    cadence_error: str = "",
    error_field: str = "",
    cadence_typed=None,
    saved: str = "",
) -> dict:
    """`error_field` names the field the error is about ("body", "rag",
    "in_progress", "monitoring"): it is marked invalid, described by the error
    and focused. `cadence_typed` is what the lead typed into a refused cadence.
    `saved` ("update", "cadence"): the form just saved, whose box (closed again)
    keeps the keyboard focus on its summary instead of the page's start."""
    updates = list(StatusUpdate.objects.filter(deployment=deployment)[: EARLIER_SHOWN + 1])
    cadence = Cadence.objects.filter(deployment=deployment).first()
    is_lead = role == "lead"
    return {
        "status_updates": {
            "latest": updates[0] if updates else None,
            "earlier": updates[1:],
            "following": Follower.objects.filter(deployment=deployment, user=user).exists(),
            "can_post": is_lead,
            "cadence": cadence,
            "next_due": due_at(deployment, cadence, updates[0].created_at if updates else None),
            "can_set_cadence": is_lead and not deployment.is_finished,
            "cadence_error": cadence_error,
            "cadence_typed": cadence_typed,
            "saved": saved,
            "body_max": BODY_MAX,
            "body_count": _count((typed or {}).get("body", "")),
            "error_field": error_field if (error or cadence_error) else "",
            "rag_choices": StatusUpdate.Rag.choices,
            "error": error,
            "typed": typed or {},
        }
    }


def _count(body: str) -> str:
    """The counter's words, as static/js/app.js writes them."""
    words = f"{len(body):,} / {BODY_MAX:,}"
    return words + (f": {len(body) - BODY_MAX:,} over the limit" if len(body) > BODY_MAX else "")


def run_page_panel(page) -> None:
    page.context.update(panel_context(page.deployment, page.request.user, page.role))
