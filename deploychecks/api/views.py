"""The token pages: a person's own tokens, and the admins' service tokens.

A new secret is shown once, on the page that made it (never stored, never
cached: Cache-Control no-store).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from deploychecks.accounts.people import is_admin
from deploychecks.api import tokens
from deploychecks.api.models import ApiToken, Scope
from deploychecks.core.errors import Forbidden, RunError

EXPIRY_CHOICES = [7, 30, 90, 180, 366]


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _days(value: str) -> int:
    return int(value) if value.isdecimal() and len(value) < 5 else 0


def _respond(request, template: str, context: dict, new_secret: str | None, error: str):
    context.update(
        new_secret=new_secret,
        error=error,
        scopes=Scope.choices,
        expiry_choices=EXPIRY_CHOICES,
        api_url=request.build_absolute_uri("/api/v1/"),
    )
    response = render(request, template, context, status=422 if error else 200)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def personal_tokens(request):
    """Your API tokens (your profile's page): make, list and revoke."""
    new_secret, error = None, ""
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                tokens.revoke_token(
                    user=request.user, token_id=_days(request.POST["revoke"]), request=request
                )
                messages.success(request, "Token revoked: it no longer works.")
                return redirect("api_pages:tokens")
            _, new_secret = tokens.create_personal_token(
                user=request.user,
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                expires_in_days=_days(request.POST.get("expires_in_days", "")),
                request=request,
            )
        except RunError as exc:
            error = exc.message
    context = {
        "tokens": ApiToken.objects.filter(kind=ApiToken.Kind.PERSONAL, user=request.user),
    }
    return _respond(request, "api/tokens.html", context, new_secret, error)


@require_http_methods(["GET", "POST"])
def service_tokens(request):
    """Admins: tokens for pipelines, scoped to services and environments."""
    if not is_admin(request.user):
        raise Forbidden(
            "Service tokens are made by admins. Make a personal token on “Your API tokens”.",
            back_url="/account/tokens/",
            back_label="Your API tokens",
        )
    new_secret, error = None, ""
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                tokens.revoke_token(
                    user=request.user, token_id=_days(request.POST["revoke"]), request=request
                )
                messages.success(request, "Token revoked: it no longer works.")
                return redirect("api_pages:service_tokens")
            if request.POST.get("rotate"):
                _, new_secret = tokens.rotate_service_token(
                    user=request.user, token_id=_days(request.POST["rotate"]), request=request
                )
            else:
                _, new_secret = tokens.create_service_token(
                    user=request.user,
                    name=request.POST.get("name", ""),
                    scopes=request.POST.getlist("scopes"),
                    services=_lines(request.POST.get("services", "")),
                    environments=_lines(request.POST.get("environments", "")),
                    expires_in_days=_days(request.POST.get("expires_in_days", "")),
                    request=request,
                )
        except RunError as exc:
            error = exc.message
    context = {
        "tokens": ApiToken.objects.filter(kind=ApiToken.Kind.SERVICE).select_related("user"),
        "service": True,
    }
    return _respond(request, "api/tokens.html", context, new_secret, error)
