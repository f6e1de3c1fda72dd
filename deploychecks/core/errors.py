"""The refusals every service may raise, and the HTTP status each one means.

Views and (later) the API turn them into responses; the message is shown to the
user as is, so it says what to do, not what went wrong inside.
"""

from django.core.exceptions import PermissionDenied


class RunError(Exception):
    """A refused change; `message` is shown to the user as is (HTTP 400)."""

    status_code = 400

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotAllowed(RunError):
    """The user may see the object but not do this to it (HTTP 403)."""

    status_code = 403


class NoAccess(NotAllowed):
    """No such deployment or object, as far as this user may know (HTTP 404)."""

    status_code = 404


class MentionRefused(RunError):
    """A note @mentions someone who cannot be told (HTTP 422): not on the
    deployment, or no such user. `names` are the refused names, as typed."""

    status_code = 422

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


class StaleVersion(RunError):
    """The client changed something based on an old version (HTTP 409).

    `current` is the object as it is now, for the client to show.
    """

    status_code = 409

    def __init__(self, message: str, current):
        super().__init__(message)
        self.current = current


class IllegalTransition(RunError):
    """The deployment cannot move to that status now (HTTP 409)."""

    status_code = 409


class GateClosed(IllegalTransition):
    """A status change refused by its guards; `unmet` lists every condition missing."""

    def __init__(self, message: str, unmet: list):
        super().__init__(message)
        self.unmet = unmet


class Forbidden(PermissionDenied):
    """A page refused (HTTP 403): the error page shows `message`, which says why,
    and a link back to where the person can go instead (core.views.permission_denied)."""

    def __init__(self, message: str, *, back_url: str = "", back_label: str = ""):
        super().__init__(message)
        self.message = message
        self.back_url = back_url
        self.back_label = back_label
