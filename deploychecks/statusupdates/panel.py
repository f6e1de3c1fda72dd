"""What the run page shows of status updates: the latest at the top, the earlier
ones folded, the follow button, and the lead's form (runs.hooks.run_page)."""

from deploychecks.statusupdates.models import Follower, StatusUpdate

EARLIER_SHOWN = 20


def panel_context(deployment, user, role, *, error: str = "", typed=None) -> dict:
    updates = list(StatusUpdate.objects.filter(deployment=deployment)[: EARLIER_SHOWN + 1])
    return {
        "status_updates": {
            "latest": updates[0] if updates else None,
            "earlier": updates[1:],
            "following": Follower.objects.filter(deployment=deployment, user=user).exists(),
            "can_post": role == "lead",
            "rag_choices": StatusUpdate.Rag.choices,
            "error": error,
            "typed": typed or {},
        }
    }


def run_page_panel(page) -> None:
    page.context.update(panel_context(page.deployment, page.request.user, page.role))
