"""What the run page shows of sign-offs: the panel's context, for this user."""

from django.conf import settings

from deploychecks.accounts.people import is_admin
from deploychecks.accounts.reauth import reauth_is_fresh
from deploychecks.runs.models import Deployment
from deploychecks.signoffs.services import checklist_hash, separation_of_duties_refusal
from deploychecks.signoffs.state import role_statuses


def panel_context(deployment: Deployment, user, request, *, errors=None, drafts=None) -> dict:
    """What templates/signoffs/panel.html#panel needs, for this user.

    `errors` and `drafts` ({role id: …}) put a refused submission back in its form.
    """
    statuses = role_statuses(deployment)
    may_sign = (
        user.is_authenticated and user.pk != deployment.lead_id and not (deployment.is_finished)
    )
    for status in statuses:
        status.can_sign = may_sign and status.is_assigned(user)
        if status.can_sign:
            # Why this approver cannot sign, said before they try.
            status.blocked = separation_of_duties_refusal(deployment, status.role, user)
            status.can_sign = not status.blocked
        status.error = (errors or {}).get(status.role.pk, "")
        status.draft = (drafts or {}).get(status.role.pk, {})
    # A refusal for a role without a form here (say, an outsider's attempt) shows
    # above the list; a blocked role says its reason in its own box.
    panel_error = " ".join(
        status.error
        for status in statuses
        if status.error and not status.can_sign and not status.blocked
    )
    signable = any(status.can_sign for status in statuses)
    missing = [status for status in statuses if status.state != "approved"]
    return {
        "roles": statuses,
        "error": panel_error,
        "missing": missing,
        "signable": signable,
        "reauth_needed": signable and not reauth_is_fresh(request),
        "reauth_minutes": max(1, settings.REAUTH_WINDOW_SECONDS // 60),
        "checklist_hash": checklist_hash(deployment.pk) if signable else "",
        "can_assign": user.pk == deployment.lead_id and not deployment.is_finished,
        "can_override": bool(missing)
        and deployment.status == Deployment.Status.MONITORING
        and is_admin(user),
    }
