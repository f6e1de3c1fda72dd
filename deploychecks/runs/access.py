"""Who may see and change a deployment. Every view, fragment and socket asks here."""

from django.db.models import OuterRef, Q, Subquery
from django.http import Http404

from deploychecks.accounts.people import MANAGERS_GROUP, is_admin, is_manager
from deploychecks.core.errors import NoAccess
from deploychecks.runs.models import Deployment, Participant


def visible_deployments(user):
    """Every deployment `user` may read: all for managers, else those they lead or are on.

    Participation is an `IN (subquery)` rather than a join: no duplicate rows,
    so no DISTINCT, and counting, sorting and paging (the history list) stay
    plain single-table queries.
    """
    if not user.is_authenticated:
        return Deployment.objects.none()
    if is_manager(user):
        return Deployment.objects.all()
    joined = Participant.objects.filter(user=user).values("deployment_id")
    return Deployment.objects.filter(Q(lead=user) | Q(pk__in=joined))


def role_of(user, deployment: Deployment) -> str | None:
    """'lead', 'engineer', 'approver', 'viewer', 'manager' or None (no access)."""
    return _role(
        user,
        deployment,
        lambda: (
            Participant.objects.filter(deployment=deployment, user=user)
            .values_list("role", flat=True)
            .first()
        ),
    )


def _role(user, deployment: Deployment, participant_role) -> str | None:
    """The rules of `role_of`; `participant_role()` gives the user's participant
    role in `deployment` or None, asked only when the lead check did not decide."""
    if not user.is_authenticated:
        return None
    if deployment.lead_id == user.pk:
        return "lead"
    role = participant_role()
    if role:
        return role
    if is_manager(user):
        return "manager"
    return None


def lock_with_role(user, pk: int) -> tuple[Deployment | None, str | None]:
    """The deployment row, locked (`select_for_update`), and the user's role in it.

    For the services that change a deployment: one query where `role_of`
    after a locking get took two (a tick's request makes few enough that
    this shows). (None, None) when there is no such deployment.
    """
    participant_role = Participant.objects.filter(
        deployment=OuterRef("pk"), user_id=user.pk
    ).values("role")[:1]
    deployment = (
        Deployment.objects.select_for_update()
        .annotate(participant_role=Subquery(participant_role))
        .filter(pk=pk)
        .first()
    )
    if deployment is None:
        return None, None
    return deployment, _role(user, deployment, lambda: deployment.participant_role)


def lock(user, pk: int) -> tuple[Deployment, str]:
    """`lock_with_role` for the services: NoAccess (404) when the user has no role."""
    deployment, role = lock_with_role(user, pk)
    if role is None:
        raise NoAccess("You do not have access to this deployment.")
    return deployment, role


def can_edit(role: str | None) -> bool:
    return role in ("lead", "engineer")


def may_change_any_note(user, role: str | None) -> bool:
    """The deployment's lead, and an admin who works on it (lead or engineer), may
    edit or delete anyone's note; an admin only watching it (manager, viewer,
    approver) may not."""
    return role == "lead" or (can_edit(role) and is_admin(user))


def may_change_note(user, role: str | None, author_id: int | None) -> bool:
    """One's own note while still editing the deployment, or anyone's as above."""
    is_author = author_id is not None and author_id == user.pk
    return (is_author and can_edit(role)) or may_change_any_note(user, role)


def get_deployment_for(user, pk: int, *, for_update: bool = False) -> tuple[Deployment, str]:
    """The deployment and the user's role, or 404 (never 403: outsiders learn nothing)."""
    try:
        deployment = Deployment.objects.select_related("lead", "revision").get(pk=pk)
    except Deployment.DoesNotExist:
        raise Http404("No such deployment") from None
    role = role_of(user, deployment)
    if role is None:
        raise Http404("No such deployment")
    return deployment, role


def allowed_user_ids(deployment_id: int) -> set[int]:
    """Everyone who may watch this deployment now; computed once per broadcast."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    # One query (a UNION): this runs inside every tick's request.
    participants = (
        Participant.objects.filter(deployment_id=deployment_id)
        .order_by()
        .values_list("user_id", flat=True)
    )
    lead = Deployment.objects.filter(pk=deployment_id).order_by().values_list("lead_id", flat=True)
    managers = (
        User.objects.filter(Q(is_superuser=True) | Q(groups__name=MANAGERS_GROUP), is_active=True)
        .order_by()
        .values_list("pk", flat=True)
    )
    return set(participants.union(lead, managers)) - {None}
