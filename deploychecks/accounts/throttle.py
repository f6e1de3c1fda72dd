"""What django-axes counts failed logins by."""

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind our own proxy (when
    TRUST_X_FORWARDED_FOR is set) the right-most X-Forwarded-For entry, the
    one that proxy appended; entries to its left can be forged."""
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[-1].strip()
    return address
