"""What the run page shows of status updates: the latest at the top, the earlier
ones folded, the follow button, and the lead's form (runs.hooks.run_page)."""

from deploychecks.statusupdates.cadence import due_at
from deploychecks.statusupdates.models import Cadence, Follower, StatusUpdate

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
            "error_field": error_field if (error or cadence_error) else "",
            "rag_choices": StatusUpdate.Rag.choices,
            "error": error,
            "typed": typed or {},
        }
    }


def run_page_panel(page) -> None:
    page.context.update(panel_context(page.deployment, page.request.user, page.role))
