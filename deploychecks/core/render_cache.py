"""Cache keys for HTML rendered once per version of a deployment (the run page's
phases and item rows, the record page)."""

import functools
import hashlib

from django.conf import settings
from django.template import engines


def deployment_key(kind: str, template: str, deployment, *parts) -> str:
    """The key of `kind`'s HTML of `deployment`, rendered by `template`, for `parts`.

    The template's digest is in it, so a deploy never serves HTML of the old
    template; so is the deployment's creation time, because a test database
    reuses primary keys and the cache outlives it.
    """
    return ":".join(
        str(part)
        for part in (
            kind,
            template_digest(template),
            deployment.pk,
            int(deployment.created_at.timestamp() * 1e6),
            *parts,
        )
    )


def template_digest(template: str) -> str:
    # With DEBUG a developer edits the template under a running server.
    return _digest.__wrapped__(template) if settings.DEBUG else _digest(template)


@functools.cache
def _digest(template: str) -> str:
    source = engines["django"].get_template(template).template.source
    return hashlib.sha256(source.encode()).hexdigest()[:12]
