from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from deploychecks.core.errors import RunError
from deploychecks.runs import access
from deploychecks.statuspage import services
from deploychecks.statuspage.models import StatusPage

REFRESH_SECONDS = 30


@login_not_required
@require_GET
def public_status(request, token):
    """The customer-facing page: no login, nothing internal."""
    page = (
        (StatusPage.objects.select_related("deployment").filter(token=token, enabled=True).first())
        if len(token) <= 64
        else None
    )
    if page is None:
        raise Http404("No such status page")
    context = services.public_context(page)
    context["refresh_seconds"] = REFRESH_SECONDS
    response = render(request, "statuspage/public.html", context)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "POST"])
def manage(request, pk):
    """The lead enables, disables and rotates the page and posts messages."""
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        raise Http404("No such page")
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        kwargs = {"deployment_id": deployment.pk, "user": request.user, "request": request}
        try:
            if action == "enable":
                services.enable(**kwargs)
                messages.success(request, "The status page is public.")
            elif action == "disable":
                services.disable(**kwargs)
                messages.success(request, "The status page is off; its URL shows nothing.")
            elif action == "rotate":
                services.rotate(**kwargs)
                messages.success(request, "New URL: the old one no longer works.")
            elif action == "message":
                services.post_message(
                    message=request.POST.get("message", ""),
                    eta=request.POST.get("eta", ""),
                    title=request.POST.get("title", ""),
                    **kwargs,
                )
                messages.success(request, "Message posted.")
            else:
                error = "Unknown action."
        except RunError as exc:
            error = exc.message
        if not error:
            return redirect("statuspage:manage", pk=deployment.pk)
    page = StatusPage.objects.filter(deployment=deployment).first()
    context = {
        "deployment": deployment,
        "page": page,
        "error": error,
        "public_url": request.build_absolute_uri(f"/status/{page.token}/") if page else "",
        "state": services.public_state(deployment),
    }
    return render(request, "statuspage/manage.html", context, status=422 if error else 200)
