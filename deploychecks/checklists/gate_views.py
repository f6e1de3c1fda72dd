"""The go-live gate settings of a template revision (admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from deploychecks.checklists.gates import GatesForm, save_gates
from deploychecks.checklists.views import MANAGE, get_revision


@permission_required(MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def edit_gates(request, template_id, number):
    revision = get_revision(template_id, number)
    form = GatesForm(revision, request.POST or None)
    if request.method == "POST" and form.is_valid():
        changed = save_gates(form, user=request.user, request=request)
        messages.success(
            request,
            "Go-live gates saved: new deployments use them."
            if changed
            else "Nothing changed in the go-live gates.",
        )
        return redirect(revision)
    return render(
        request,
        "checklists/gates.html",
        {"template": revision.template, "revision": revision, "form": form},
        status=422 if form.errors else 200,
    )
