from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from deploychecks.owners import services
from deploychecks.owners.panel import panel_context
from deploychecks.owners.work import my_work_context
from deploychecks.runs import access
from deploychecks.runs.hooks import RunPage


@require_POST
def assign(request, pk):
    """The lead's form on the run page: set one item's owners and due time."""
    deployment, role = access.get_deployment_for(request.user, pk)
    item_id = request.POST.get("item", "")
    due = request.POST.get("due", "").strip()
    owners = request.POST.get("owners", "").strip()
    typed = {"item": item_id, "owners": owners, "due": due}
    error = saved = error_field = ""
    status = 200
    try:
        change = services.set_assignment(
            deployment_id=pk,
            item_id=int(item_id) if item_id.isascii() and item_id.isdecimal() else 0,
            # Either field: empty keeps what the item has, "none" removes it (so a
            # lead changing only the due time never wipes the owners).
            owners=_kept_or_removed(owners),
            due=_kept_or_removed(due),
            user=request.user,
            request=request,
        )
    except services.RunError as exc:
        error, status = exc.message, exc.status_code
        error_field = getattr(exc, "field", "") or ("item" if status == 404 else "")
    else:
        owners = " ".join(f"@{o}" for o in change.obj.owners) or "nobody"
        saved = f"“{change.obj.title}”: owners {owners}" + (
            "" if change.changed else " (unchanged)"
        )
        typed = {}
    page = RunPage(request, deployment, role, {})
    context = {
        "deployment": deployment,
        **panel_context(page, error=error, saved=saved, typed=typed, error_field=error_field),
    }
    if not request.htmx:
        if not error:
            messages.success(request, saved)
            return redirect(deployment)
        return render(request, "owners/assigned.html", context, status=status)
    return HttpResponse(render(request, "owners/panel.html#panel", context).content, status=status)


def _kept_or_removed(typed: str):
    if not typed:
        return services.UNCHANGED
    return "" if typed.lower() in ("none", "@none") else typed


@require_GET
def my_work(request):
    return render(request, "owners/my_work.html", my_work_context(request.user))
