from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.runs import access
from deploychecks.statusupdates import services
from deploychecks.statusupdates.cadence import parse_minutes, set_cadence
from deploychecks.statusupdates.panel import panel_context


def _panel(request, deployment, role, *, status=200, **errors):
    context = {"deployment": deployment, **panel_context(deployment, request.user, role, **errors)}
    return HttpResponse(
        render(request, "statusupdates/panel.html#panel", context).content, status=status
    )


@require_POST
def post(request, pk):
    """The lead's form at the top of the run page."""
    deployment, role = access.get_deployment_for(request.user, pk)
    typed = {
        "body": request.POST.get("body", ""),
        "rag": request.POST.get("rag", ""),
        "public": request.POST.get("public") == "1",
    }
    try:
        services.post_update(
            deployment_id=pk,
            user=request.user,
            body=typed["body"],
            rag=typed["rag"],
            public=typed["public"],
            request=request,
        )
    except RunError as exc:
        field = _post_error_field(exc, typed["body"])
        if not request.htmx:
            # Without JavaScript: the form again, with the reason and what was typed.
            context = {
                "deployment": deployment,
                **panel_context(
                    deployment,
                    request.user,
                    role,
                    error=exc.message,
                    typed=typed,
                    error_field=field,
                ),
            }
            return render(request, "statusupdates/refused.html", context, status=exc.status_code)
        return _panel(
            request,
            deployment,
            role,
            status=exc.status_code,
            error=exc.message,
            typed=typed,
            error_field=field,
        )
    if not request.htmx:
        messages.success(request, "Status update posted.")
        return redirect(deployment)
    return _panel(request, deployment, role, saved="update")


def _post_error_field(exc: RunError, body: str) -> str:
    """Which field a refused update is about: the text, else the colour."""
    if isinstance(exc, NotAllowed):
        return ""
    try:
        services.clean_body(body)
    except RunError:
        return "body"
    return "rag"


def _cadence_error_field(exc: RunError, typed: dict) -> str:
    if isinstance(exc, NotAllowed):
        return ""
    for field, what in (("in_progress", "in progress"), ("monitoring", "monitoring")):
        try:
            parse_minutes(typed[field], what)
        except RunError:
            return field
    return ""


@require_POST
def follow(request, pk):
    """Anyone who may read the deployment follows (or unfollows) its updates."""
    deployment, role = access.get_deployment_for(request.user, pk)
    wanted = request.POST.get("follow") == "1"
    services.set_following(deployment_id=pk, user=request.user, follow=wanted, request=request)
    if not request.htmx:
        messages.success(
            request,
            "You follow this deployment's status updates by email."
            if wanted
            else "You no longer follow this deployment.",
        )
        return redirect(deployment)
    return _panel(request, deployment, role)


@require_POST
def cadence(request, pk):
    """The lead sets how often an update is due; the reminders say when it is."""
    deployment, role = access.get_deployment_for(request.user, pk)
    typed = {
        "in_progress": request.POST.get("in_progress", ""),
        "monitoring": request.POST.get("monitoring", ""),
    }
    try:
        set_cadence(deployment_id=pk, user=request.user, request=request, **typed)
    except RunError as exc:
        # What was typed comes back with the reason, at the field it is about.
        errors = {
            "cadence_error": exc.message,
            "cadence_typed": typed,
            "error_field": _cadence_error_field(exc, typed),
        }
        if not request.htmx:
            context = {
                "deployment": deployment,
                **panel_context(deployment, request.user, role, **errors),
            }
            return render(request, "statusupdates/refused.html", context, status=exc.status_code)
        return _panel(request, deployment, role, status=exc.status_code, **errors)
    if not request.htmx:
        messages.success(request, "Update cadence saved.")
        return redirect(deployment)
    return _panel(request, deployment, role, saved="cadence")
