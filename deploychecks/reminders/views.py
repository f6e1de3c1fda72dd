"""Reminder pages: the run page's notification centre, a deployment's schedule, and
the schedule editor of a template revision."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deploychecks.checklists.models import TemplateRevision
from deploychecks.core.errors import RunError
from deploychecks.reminders import services
from deploychecks.reminders.centre import CENTRE, centre_context
from deploychecks.reminders.forms import RescheduleForm, RuleFormSet, WebhookForm
from deploychecks.reminders.models import DeploymentWebhook, Reminder, ReminderRule
from deploychecks.runs import access

MANAGE_TEMPLATES = "checklists.add_checklisttemplate"


@require_GET
def centre(request, pk):
    deployment, _ = access.get_deployment_for(request.user, pk)
    return render(request, f"{CENTRE}#centre", centre_context(deployment, user=request.user))


@require_POST
def acknowledge(request, pk, reminder_id):
    deployment, _ = access.get_deployment_for(request.user, pk)
    reminder = get_object_or_404(Reminder, pk=reminder_id, deployment=deployment)
    error, status = "", 200
    try:
        services.acknowledge(
            deployment_id=deployment.pk,
            reminder_id=reminder.pk,
            user=request.user,
            note=request.POST.get("note", ""),
            request=request,
        )
    except RunError as exc:
        error, status = exc.message, exc.status_code
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(reminder.get_absolute_url())
    context = centre_context(deployment, user=request.user, error=error)
    context["centre_open"] = True
    return render(request, f"{CENTRE}#centre", context, status=status)


@require_GET
def deployment_reminders(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    return render(request, "reminders/deployment.html", _schedule_context(deployment, role))


def _schedule_context(deployment, role, **forms):
    reminders = list(
        Reminder.objects.filter(deployment=deployment)
        .prefetch_related("deliveries")
        .order_by("due_at", "pk")
    )
    hook = DeploymentWebhook.objects.filter(deployment=deployment).first()
    go_live = timezone.localtime(deployment.go_live_at) if deployment.go_live_at else None
    return {
        "deployment": deployment,
        "role": role,
        "reminders": reminders,
        "webhook": hook,
        "is_lead": role == "lead",
        "reschedule_form": forms.get("reschedule_form")
        or RescheduleForm(initial={"go_live_at": go_live}),
        "webhook_form": forms.get("webhook_form")
        or WebhookForm(initial={"url": hook.url if hook else ""}),
    }


@require_POST
def reschedule(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":  # before the form: the input of someone who may not is not read
        return _lead_only(request, deployment, role, services.LEAD_ONLY_RESCHEDULE)
    form = RescheduleForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.reschedule(
                deployment_id=deployment.pk,
                go_live_at=form.cleaned_data["go_live_at"],
                user=request.user,
                request=request,
            )
        except RunError as exc:
            form.add_error("go_live_at", exc.message)
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, "Go-live time moved; pending reminders moved with it.")
            return redirect("reminders:deployment", pk=deployment.pk)
    deployment.refresh_from_db()
    return render(
        request,
        "reminders/deployment.html",
        _schedule_context(deployment, role, reschedule_form=form),
        status=status,
    )


def _lead_only(request, deployment, role, message: str):
    """The schedule page with the refusal, as a refusal by the service shows it."""
    messages.error(request, message)
    return render(
        request, "reminders/deployment.html", _schedule_context(deployment, role), status=403
    )


@require_POST
def set_webhook(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        return _lead_only(request, deployment, role, services.LEAD_ONLY_WEBHOOK)
    form = WebhookForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            services.set_webhook(
                deployment_id=deployment.pk,
                url=form.cleaned_data["url"],
                secret=form.cleaned_data["secret"],
                user=request.user,
                request=request,
            )
        except RunError as exc:
            form.add_error("url", exc.message)
            messages.error(request, exc.message)
            status = exc.status_code
        else:
            messages.success(request, "Webhook saved.")
            return redirect("reminders:deployment", pk=deployment.pk)
    return render(
        request,
        "reminders/deployment.html",
        _schedule_context(deployment, role, webhook_form=form),
        status=status,
    )


@permission_required(MANAGE_TEMPLATES, raise_exception=True)
@require_http_methods(["GET", "POST"])
def template_rules(request, template_id, number):
    revision = get_object_or_404(
        TemplateRevision.objects.select_related("template"), template_id=template_id, number=number
    )
    queryset = ReminderRule.objects.filter(revision=revision).order_by("position")
    formset = RuleFormSet(request.POST or None, queryset=queryset, prefix="rules")
    if request.method == "POST" and formset.is_valid():
        rules = []
        for form in formset.forms:
            if form.instance.pk is None and not form.has_changed():
                continue
            if formset._should_delete_form(form):
                continue
            rules.append(form.save(commit=False))
        services.replace_rules(revision, rules, user=request.user, request=request)
        messages.success(
            request, f"Saved {len(rules)} reminder rules for revision {revision.number}."
        )
        return redirect("reminders:template_rules", template_id=template_id, number=number)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "reminders/rules.html",
        {"revision": revision, "template": revision.template, "formset": formset},
        status=status,
    )
