"""Idempotency keys of forms that add a row each time they are posted.

A note, a reading typed by hand or a new deployment is a new row per POST, so a
retry (the answer was lost, or was an error page although the change was saved)
would store it twice. Each such form carries a hidden `idempotency_key`, made
in the browser when the form is first submitted and kept until the form is
replaced or edited (static/js/app.js: the run page's fragments are cached and
broadcast to many people, so the server cannot render a key per form). The
service, holding the deployment's row lock, answers a key it has seen with the
first submission's object, and stores a new key in the same transaction as the
row it adds. A POST without a key (no JavaScript, the ingest API) is stored as
before.
"""

import re

from deploychecks.core.errors import RunError
from deploychecks.runs.models import SubmittedForm

FIELD = "idempotency_key"
_KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")

Kind = SubmittedForm.Kind


def checked_key(key: str | None) -> str:
    """The key as sent, or "" without one; a malformed key is refused."""
    key = key or ""
    if key and not _KEY_RE.fullmatch(key):
        raise RunError("This form is damaged (bad idempotency key): reload the page.")
    return key


def first_result(user, key: str, kind: str, deployment_id: int | None = None) -> int | None:
    """The id of what `user`'s first submission with `key` added, or None if it is new.

    A key used before for another kind of form or another deployment is not a
    retry of this one: refused.
    """
    if not key:
        return None
    row = SubmittedForm.objects.filter(user=user, key=key).first()
    if row is None:
        return None
    if row.kind != kind or (deployment_id is not None and row.deployment_id != deployment_id):
        raise RunError("This form was already used for something else: reload the page.")
    return row.object_id


def remember(user, key: str, kind: str, deployment, obj) -> None:
    """Record that `key` added `obj`, in the caller's transaction (no-op without a key)."""
    if key:
        SubmittedForm.objects.create(
            deployment=deployment, user=user, key=key, kind=kind, object_id=obj.pk
        )
