"""What sign-offs do when a deployment changes (registered in apps.py).

Each runs inside the transaction of the change, with the deployment row locked.
"""

from deploychecks.runs import hooks
from deploychecks.signoffs import services
from deploychecks.signoffs.panel import panel_context
from deploychecks.signoffs.state import missing_approvals


def assign_initial_approvers(event: hooks.Created) -> None:
    """The approvers picked when the deployment was created take their roles."""
    if event.approvers:
        services.assign_initial_approvers(
            event.deployment, event.approvers, lead=event.deployment.lead
        )


def invalidate_on_change(event: hooks.ItemChanged) -> None:
    """Any change to an item or sub-check makes the valid sign-offs stale."""
    services.invalidate_signoffs(
        event.deployment, event.description, event.seq, actor=event.actor, request=event.request
    )


def signoff_guard(change: hooks.StatusChange) -> list[hooks.Unmet]:
    """Completing needs every sign-off role's valid approval; going live, those of
    the roles the template marks as needed before go-live."""
    if change.to == "completed":
        roles = missing_approvals(change.deployment)
    elif change.to == "monitoring":
        roles = [s for s in missing_approvals(change.deployment) if s.role.before_go_live]
    else:
        return []
    return [
        hooks.Unmet(
            key=f"signoff:{status.role.pk}",
            kind="signoff",
            needs="a valid approval from",
            label=status.role.name
            if status.state == "pending"
            else f"{status.role.name} ({status.state})",
            anchor=f"signoff-role-{status.role.pk}",
        )
        for status in roles
    ]


def run_page_panel(page: hooks.RunPage) -> None:
    """The sign-off panel: differs per viewer (only assigned approvers get a form)."""
    page.context["signoffs"] = panel_context(page.deployment, page.request.user, page.request)
