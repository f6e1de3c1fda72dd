"""Small rules about people that every app needs: how a user is named in
records, where a request comes from, and who counts as an admin or a manager."""

from django.conf import settings

ADMINS_GROUP = "admins"
MANAGERS_GROUP = "managers"
# Engineers and leads: may start deployments (see CREATE_DEPLOYMENT).
ENGINEERS_GROUP = "engineers"
# The permission to create a deployment (and so become its lead): the
# engineers group and admins hold it; viewers and approvers-only do not.
CREATE_DEPLOYMENT = "runs.add_deployment"
NAME_MAX = 150


def display_name(user) -> str:
    """The name copied into records (audit rows outlive the user): full name, else username."""
    return (user.get_full_name() or user.get_username())[:NAME_MAX]


def is_admin(user) -> bool:
    """Superusers and members of the admins group: they manage templates and users."""
    return user.is_authenticated and (
        user.is_superuser or user.groups.filter(name=ADMINS_GROUP).exists()
    )


def is_manager(user) -> bool:
    """Superusers and members of the managers group: they read every deployment."""
    return user.is_superuser or user.groups.filter(name=MANAGERS_GROUP).exists()


def can_create_deployments(user) -> bool:
    """Engineers, leads and admins (and superusers) may start a deployment."""
    return user.is_authenticated and user.has_perm(CREATE_DEPLOYMENT)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our own proxy (when
    TRUST_X_FORWARDED_FOR is set) the right-most X-Forwarded-For entry, the one
    that proxy appended; entries to its left can be forged."""
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[-1]
    return address.strip()
