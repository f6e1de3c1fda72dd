"""The deployment's settings page: participants, and the contacts and escalation table.

Everyone on the deployment can read it; only the lead changes it, through
runs.team. Forms work without JavaScript (post, redirect back); with htmx
each section answers with its own fragment.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from deploychecks.core.errors import RunError
from deploychecks.runs import access, team
from deploychecks.runs.forms import ContactFormSet, ParticipantForm
from deploychecks.runs.models import Participant

PAGE = "runs/settings.html"
ROLE_ORDER = {role: index for index, role in enumerate(Participant.Role.values)}


def _contact_formset(deployment, data=None):
    initial = list(
        deployment.contacts.order_by("position").values("role", "person", "phone", "handle")
    )
    return ContactFormSet(data, initial=initial, prefix="contacts")


def _context(deployment, role, **overrides):
    participants = sorted(
        Participant.objects.filter(deployment=deployment).select_related("user"),
        key=lambda p: (ROLE_ORDER.get(p.role, 99), p.user.username),
    )
    is_lead = role == "lead"
    context = {
        "deployment": deployment,
        "role": role,
        "is_lead": is_lead,
        "participants": participants,
        "roles": Participant.Role.choices,
        "contacts": deployment.contacts.order_by("position"),
        "participant_form": ParticipantForm(deployment=deployment) if is_lead else None,
        "contact_formset": _contact_formset(deployment) if is_lead else None,
        "participants_error": "",
        "contacts_error": "",
    }
    context.update(overrides)
    return context


def _respond(request, deployment, role, section, *, status=200, notice="", **overrides):
    """After a POST: the section's fragment for htmx, else back to the page."""
    if request.htmx:
        context = _context(deployment, role, **overrides, notice=notice)
        return render(request, f"{PAGE}#{section}", context, status=status)
    if status >= 400:
        return render(request, PAGE, _context(deployment, role, **overrides), status=status)
    if notice:
        messages.success(request, notice)
    return redirect("runs:settings", deployment.pk)


def _lead_only(request, deployment, role, section):
    error = "Only the lead of this deployment can change its participants and contacts."
    return _respond(request, deployment, role, section, status=403, **{f"{section}_error": error})


@require_GET
def deployment_settings(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    return render(request, PAGE, _context(deployment, role))


@require_POST
def set_participant(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        return _lead_only(request, deployment, role, "participants")
    form = ParticipantForm(request.POST, deployment=deployment)
    if not form.is_valid():
        return _respond(
            request, deployment, role, "participants", status=422, participant_form=form
        )
    member, new_role = form.cleaned_data["user"], form.cleaned_data["role"]
    try:
        team.set_participant(
            deployment_id=deployment.pk,
            member=member,
            role=new_role,
            user=request.user,
            request=request,
        )
    except RunError as exc:
        return _respond(
            request,
            deployment,
            role,
            "participants",
            status=exc.status_code,
            participants_error=exc.message,
        )
    name = member.get_full_name() or member.username
    return _respond(
        request,
        deployment,
        role,
        "participants",
        notice=f"{name} is now {Participant.Role(new_role).label.lower()}.",
    )


@require_POST
def remove_participant(request, pk, user_id):
    deployment, role = access.get_deployment_for(request.user, pk)
    # Someone not on this deployment (or nobody) is a 404 for everyone, as a
    # missing object is; then only the lead may remove.
    member = (
        get_user_model().objects.filter(pk=user_id, participations__deployment=deployment).first()
    )
    if member is None:
        return HttpResponse("No such person on this deployment.", status=404)
    if role != "lead":
        return _lead_only(request, deployment, role, "participants")
    try:
        team.remove_participant(
            deployment_id=deployment.pk, member_id=member.pk, user=request.user, request=request
        )
    except RunError as exc:
        return _respond(
            request,
            deployment,
            role,
            "participants",
            status=exc.status_code,
            participants_error=exc.message,
        )
    name = member.get_full_name() or member.username
    return _respond(
        request,
        deployment,
        role,
        "participants",
        notice=f"{name} no longer takes part in this deployment.",
    )


@require_POST
def save_contacts(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        return _lead_only(request, deployment, role, "contacts")
    formset = _contact_formset(deployment, request.POST)
    if not formset.is_valid():
        return _respond(request, deployment, role, "contacts", status=422, contact_formset=formset)
    rows = [
        form.cleaned_data
        for form in formset.forms
        if form.cleaned_data.get("role") and not form.cleaned_data.get("DELETE")
    ]
    try:
        change = team.save_contacts(
            deployment_id=deployment.pk, rows=rows, user=request.user, request=request
        )
    except RunError as exc:
        return _respond(
            request,
            deployment,
            role,
            "contacts",
            status=exc.status_code,
            contacts_error=exc.message,
            contact_formset=formset,
        )
    return _respond(
        request,
        deployment,
        role,
        "contacts",
        notice="Contacts saved." if change.changed else "No changes to save.",
    )
