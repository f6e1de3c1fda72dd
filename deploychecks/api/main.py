"""The API under /api/v1/: one NinjaAPI, its routers, auth and error shapes.

OpenAPI 3.1 at /api/v1/openapi.json, browsable docs (Swagger UI, served from
our static files under the site's CSP) at /api/v1/docs.
"""

from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError

from deploychecks.api import problems
from deploychecks.api.auth import BearerToken, RateLimited
from deploychecks.api.endpoints import audit_log, changes, deployments, evidence, gate, templates
from deploychecks.core.errors import RunError

DESCRIPTION = """\
Deploychecks' API: templates, deployments, their items, status and gate, readings
and the audit log. Authenticate with `Authorization: Bearer <token>` (a personal
token from **Your API tokens**, or an admin's service token). Every change goes
through the same rules as the pages; a token can never sign off or override a gate.
Errors are RFC 9457 problem details (`application/problem+json`).
"""
ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429)


class DeploychecksAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Errors are documented as `application/problem+json`; any operation may
        refuse with each of ERROR_STATUSES (a token without the scope: 403; a
        field that does not validate: 422; no token: 401; rate limit: 429…)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        problem = {"$ref": "#/components/schemas/Problem"}
        for path in schema["paths"].values():
            for operation in path.values():
                # ninja keys its responses by int; JSON needs one string key each.
                responses = {str(k): v for k, v in operation.get("responses", {}).items()}
                operation["responses"] = responses
                if operation.get("security"):
                    for status in ERROR_STATUSES:
                        responses.setdefault(str(status), {"description": problems.TITLES[status]})
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["content"] = {problems.CONTENT_TYPE: {"schema": problem}}
        return schema

    def create_response(self, request, data, *args, **kwargs):
        response = super().create_response(request, data, *args, **kwargs)
        allowance = getattr(request, "rate_allowance", None)
        if allowance is not None:
            for name, value in allowance.headers().items():
                response[name] = value
        return response


api = DeploychecksAPI(
    title="Deploychecks API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=BearerToken(),
    docs=Swagger(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
)
api.add_router("/templates", templates.router)
api.add_router("/deployments", deployments.router)
api.add_router("/deployments", changes.router)
api.add_router("/deployments", evidence.router)
api.add_router("/deployments", gate.router)
api.add_router("/deployments", audit_log.router)


@api.exception_handler(RunError)
def run_error(request, exc: RunError):
    return problems.from_run_error(exc, current=getattr(exc, "api_current", None))


@api.exception_handler(Http404)
def not_found(request, exc):
    return problems.problem(404, "not-found", "No such object.")


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return problems.problem(
        401,
        "unauthorized",
        "Send a valid token: “Authorization: Bearer dct_…” (it may be wrong, revoked or expired).",
        headers={"WWW-Authenticate": 'Bearer realm="deploychecks"'},
    )


@api.exception_handler(RateLimited)
def rate_limited(request, exc: RateLimited):
    return problems.problem(
        429,
        "rate-limited",
        f"This token made more than {exc.allowance.limit} requests this minute; "
        f"retry in {exc.allowance.reset_seconds} s.",
        headers=exc.allowance.headers(),
    )


@api.exception_handler(ValidationError)
def invalid(request, exc: ValidationError):
    errors = [
        {
            "where": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors
    ]
    return problems.problem(422, "invalid", "Some fields are not valid.", errors=errors)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return problems.problem(exc.status_code, "http-error", str(exc.message))


def urlpatterns():
    """The API's URL patterns, outside LoginRequiredMiddleware (a token, not a
    session, says who is calling; the docs and the schema are public)."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name, namespace
