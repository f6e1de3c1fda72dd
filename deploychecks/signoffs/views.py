from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_POST

from deploychecks.accounts.reauth import reauthenticate
from deploychecks.checklists.models import TemplateRevision
from deploychecks.core.errors import Forbidden, RunError
from deploychecks.runs import access
from deploychecks.runs.models import DeploymentRole
from deploychecks.signoffs import rules, services
from deploychecks.signoffs.forms import AssignApproverForm, SignoffRulesForm
from deploychecks.signoffs.panel import panel_context
from deploychecks.signoffs.state import role_statuses

MANAGE_TEMPLATES = "checklists.add_checklisttemplate"


@require_POST
def sign(request, pk, role_id):
    """The sign-off form. The signer is always request.user; nothing in the form names one."""
    deployment, _ = access.get_deployment_for(request.user, pk)
    role = get_object_or_404(DeploymentRole, pk=role_id, deployment=deployment)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")
    expected_hash = request.POST.get("checklist_hash", "").strip()
    if not expected_hash:
        # Not a form of ours (each carries the hash of the checklist it showed):
        # refused before anything is checked or remembered, password included.
        return HttpResponse(escape(services.HASH_MISSING), status=400)
    error = ""
    try:
        password = request.POST.get("password", "")
        if password and not reauthenticate(request, password):
            raise services.ReauthRequired("That password is not right; try again.")
        services.sign_off(
            deployment_id=deployment.pk,
            role_id=role.pk,
            user=request.user,
            decision=decision,
            comment=comment,
            request=request,
            expected_hash=expected_hash,
        )
    except RunError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, f"{role.name}: {error}")
        return redirect(deployment)
    deployment.refresh_from_db()
    # 200 even for a refusal: htmx does not swap 4xx answers, and the refusal
    # has to appear in the form the approver just sent.
    context = {
        "deployment": deployment,
        "signoffs": panel_context(
            deployment,
            request.user,
            request,
            errors={role.pk: error} if error else None,
            drafts={role.pk: {"decision": decision, "comment": comment}} if error else None,
        ),
    }
    return render(request, "signoffs/panel.html#panel", context)


@require_http_methods(["GET", "POST"])
def approvers(request, pk):
    """The lead's settings section: who approves, and who backs up, each sign-off role."""
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        raise PermissionDenied("Only the deployment lead can assign approvers.")
    form = AssignApproverForm(deployment, request.POST or None)
    if request.method == "POST":
        try:
            if "remove" in request.POST:
                services.remove_approver(
                    deployment_id=deployment.pk,
                    assignment_id=_int(request.POST["remove"]),
                    user=request.user,
                    request=request,
                )
                messages.success(request, "Approver removed.")
                return redirect("signoffs:approvers", deployment.pk)
            if form.is_valid():
                data = form.cleaned_data
                services.assign_approver(
                    deployment_id=deployment.pk,
                    role_id=data["role"].pk,
                    approver=data["user"],
                    is_backup=data["kind"] == "backup",
                    user=request.user,
                    request=request,
                )
                messages.success(request, f"{data['user']} assigned to {data['role'].name}.")
                return redirect("signoffs:approvers", deployment.pk)
        except RunError as exc:
            messages.error(request, exc.message)
            return redirect("signoffs:approvers", deployment.pk)
    context = {"deployment": deployment, "form": form, "roles": role_statuses(deployment)}
    return render(request, "signoffs/approvers.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def template_rules(request, template_id, number):
    """Admins: a template revision's sign-off rules (independence, what each role covers)."""
    if not request.user.has_perm(MANAGE_TEMPLATES):
        raise Forbidden(
            "Sign-off rules are part of the template: only admins change them.",
            back_url=reverse("checklists:detail", args=[template_id]),
            back_label="Back to the template",
        )
    revision = get_object_or_404(
        TemplateRevision.objects.select_related("template"), template_id=template_id, number=number
    )
    form = SignoffRulesForm(revision, rules.coverage_of(revision), request.POST or None)
    if request.method == "POST" and form.is_valid():
        changed = rules.save_signoff_rules(
            revision,
            require_independent=form.cleaned_data["require_independent"],
            coverage=form.coverage(),
            user=request.user,
            request=request,
        )
        messages.success(
            request,
            f"Sign-off rules saved for revision {revision.number}; new deployments use them."
            if changed
            else "Nothing changed.",
        )
        return redirect("signoffs:template_rules", template_id=template_id, number=number)
    context = {"template": revision.template, "revision": revision, "form": form}
    return render(request, "signoffs/rules.html", context, status=422 if form.errors else 200)


def _int(value, default=-1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
