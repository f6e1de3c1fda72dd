"""Every URL pattern of the project, walked from the root URLconf."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Not ours to police here: Django's admin, static files, login/logout/password
# views (tests/accounts covers them) and the health check. The API takes tokens,
# not sessions: its own matrix is tests/security/test_api_matrix.py.
SKIPPED_PREFIXES = ("admin/", "static/", "accounts/", "healthz", "api/v1/")


@dataclass(frozen=True)
class Route:
    name: str  # "runs:item_state"
    route: str  # "deployments/<int:pk>/items/<int:item_id>/state/"
    kwargs: tuple[str, ...]

    @property
    def is_deployment_url(self) -> bool:
        """Takes a deployment's id (every such URL names it `pk`)."""
        return "pk" in self.kwargs


def _walk(patterns, prefix="", namespace="", kwargs=()):
    for pattern in patterns:
        names = tuple(pattern.pattern.regex.groupindex)
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from _walk(pattern.url_patterns, route, inner, kwargs + names)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield Route(name=name or route, route=route.lstrip("^"), kwargs=kwargs + names)


def project_routes() -> list[Route]:
    """The project's own URL patterns (without the skipped prefixes)."""
    return [
        r for r in _walk(get_resolver().url_patterns) if not r.route.startswith(SKIPPED_PREFIXES)
    ]
