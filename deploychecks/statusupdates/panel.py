"""What the run page shows of status updates: the latest at the top, the earlier
ones folded, the follow button, and the lead's form (runs.hooks.run_page)."""

from deploychecks.statusupdates.cadence import due_at
from deploychecks.statusupdates.models import Cadence, Follower, StatusUpdate

EARLIER_SHOWN = 20


def panel_context(
    deployment, user, role, *, error: str = "", typed=None, cadence_error: str = ""
) -> dict:
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
            "rag_choices": StatusUpdate.Rag.choices,
            "error": error,
            "typed": typed or {},
        }
    }


def run_page_panel(page) -> None:
    page.context.update(panel_context(page.deployment, page.request.user, page.role))
