"""Small rules about people that every app needs: how a user is named in
records, where a request comes from, and who counts as an admin or a manager."""

import functools
import ipaddress

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


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.cache
def _networks(proxies: tuple[str, ...]):
    return [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]


def client_ip(request) -> str:
    """The client's address, as the login throttle and the audit log see it.

    REMOTE_ADDR, unless that is one of settings.TRUSTED_PROXIES: then
    X-Forwarded-For is read from the right, past every trusted proxy, and the
    first address that is not one is the client (each proxy appends the peer it
    saw; anything further left came from the client and may be forged). With no
    trusted proxies (the default) the header is ignored, so a client cannot pick
    a new address for each password guess. uvicorn applies the same rule
    (deploychecks.serve), so behind it REMOTE_ADDR is already the client's.
    """
    address = request.META.get("REMOTE_ADDR", "").strip()
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(address, networks):
        return address
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([part for part in forwarded if part]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # not an address: keep the last one we can vouch for
        address = hop
    return address
