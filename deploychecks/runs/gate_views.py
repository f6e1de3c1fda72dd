"""The run page's gate: what going live or completing still needs, the refusal
with its reasons, and the override form for the lead or an admin."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from deploychecks.accounts.reauth import reauthenticate
from deploychecks.core.errors import GateClosed, NotAllowed, RunError
from deploychecks.runs import access, status
from deploychecks.runs.fragments import PARTIALS
from deploychecks.runs.page import page_context


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "") and not request.htmx


@require_POST
def change_status(request, pk):
    """Move the deployment on; a refusal lists every unmet condition (JSON for
    scripts, the page's gate panel for people)."""
    return _apply(
        request,
        pk,
        reason=request.POST.get("reason", ""),
        acknowledgement=request.POST.get("acknowledgement", ""),
    )


@require_POST
def override(request, pk):
    """Go live or complete past the unmet conditions named in `override`: the lead
    or an admin, with a reason and their password (or a fresh confirmation)."""
    return _apply(
        request,
        pk,
        override_reason=request.POST.get("override_reason", ""),
        override=request.POST.getlist("override") or [""],
    )


def _apply(request, pk, **change):
    deployment, role = access.get_deployment_for(request.user, pk)
    password = request.POST.get("password", "")
    try:
        if password and not reauthenticate(request, password):
            raise NotAllowed("That password is not right; nothing was changed.")
        status.change_status(
            deployment_id=deployment.pk,
            to=request.POST.get("to", ""),
            user=request.user,
            request=request,
            **change,
        )
    except RunError as exc:
        return _refused(request, deployment, role, exc)
    if not request.htmx:
        return redirect(deployment)
    deployment.refresh_from_db()
    return render(request, f"{PARTIALS}#checklist", page_context(request, deployment, role))


def _refused(request, deployment, role, exc: RunError):
    unmet = exc.unmet if isinstance(exc, GateClosed) else []
    if _wants_json(request):
        body = {"error": exc.message, "unmet": [condition.as_dict() for condition in unmet]}
        return JsonResponse(body, status=exc.status_code)
    if not request.htmx:
        messages.error(request, exc.message)
        return redirect(deployment)
    refused = exc if isinstance(exc, GateClosed) else None
    context = page_context(request, deployment, role, refused=refused)
    context.update(
        gate_error=exc.message,
        gate_to=request.POST.get("to", ""),
        gate_draft={
            "override_reason": request.POST.get("override_reason", ""),
            "acknowledgement": request.POST.get("acknowledgement", ""),
        },
    )
    return render(request, f"{PARTIALS}#checklist", context, status=exc.status_code)
