"""Who is calling: a bearer token, its scopes, and what it reaches.

The API takes bearer tokens only, never the session cookie: a browser's
cookies cannot make a request count, so CSRF does not apply (docs/decisions.md).
"""

from ninja.security import HttpBearer

from deploychecks.api import ratelimit, tokens
from deploychecks.api.models import ApiToken
from deploychecks.core.errors import NoAccess, NotAllowed
from deploychecks.runs import access
from deploychecks.runs.models import Deployment


class RateLimited(Exception):
    def __init__(self, allowance: ratelimit.Allowance):
        super().__init__("rate limited")
        self.allowance = allowance


def provenance_of(token: ApiToken, ci=None, evidence_url: str = "") -> dict:
    """What the audit event and the item record of a change through the API."""
    via = {"token": token.name, "token_id": token.pk, "token_kind": token.kind}
    if ci is not None:
        via.update({k: v for k, v in ci.model_dump().items() if v})
    if evidence_url:
        via["evidence_url"] = evidence_url
    return via


def sign_in(request, secret: str) -> ApiToken | None:
    """Authenticate `secret` for this request and count it against its token's
    rate limit (RateLimited past it). Shared by the API and the gate's long poll."""
    token = tokens.authenticate(secret)
    if token is None:
        return None
    # By id and hash: a rotated secret, or a test database's reused id, starts afresh.
    allowance = ratelimit.take(f"{token.pk}:{token.token_hash[:16]}", token.rate_limit)
    if not allowance.allowed:
        raise RateLimited(allowance)
    tokens.touch(token, request)
    request.api_token = token
    request.rate_allowance = allowance
    request.user = token.user
    request.provenance = provenance_of(token)
    return token


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        return sign_in(request, token.strip())


def need(request, scope: str) -> ApiToken:
    token = request.api_token
    if not token.has_scope(scope):
        raise NotAllowed(f"This token does not have the “{scope}” scope.")
    return token


def with_ci(request, ci=None, evidence_url: str = "") -> None:
    """Add the CI context a change states to the request's provenance."""
    request.provenance = provenance_of(request.api_token, ci, evidence_url)


def reachable(token: ApiToken) -> "Deployment.objects":
    """The deployments a token may read: its person's, or its services'."""
    if token.kind == ApiToken.Kind.PERSONAL:
        return access.visible_deployments(token.user)
    deployments = Deployment.objects.filter(service__in=token.services)
    if token.environments:
        deployments = deployments.filter(environment__in=token.environments)
    return deployments


def deployment_for(request, pk: int, *, change: bool = False) -> tuple[Deployment, str | None]:
    """The deployment and the token's role in it; 404 for one it does not reach.

    A service token reads every deployment of its services; to change one its
    account must be on the team as an engineer (the services check the role,
    this says what to do about it).
    """
    token = request.api_token
    deployment = (
        Deployment.objects.select_related("lead", "revision__template").filter(pk=pk).first()
    )
    if deployment is None or not token.covers(deployment):
        raise NoAccess("No such deployment.")
    role = access.role_of(token.user, deployment)
    if token.kind == ApiToken.Kind.PERSONAL and role is None:
        raise NoAccess("No such deployment.")
    if change and token.kind == ApiToken.Kind.SERVICE and not access.can_edit(role):
        raise NotAllowed(
            f"This service token's account “{token.user.get_username()}” is not an engineer "
            "of this deployment: its lead can add it on the deployment's team page."
        )
    return deployment, role
