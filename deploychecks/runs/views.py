from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deploychecks.accounts.people import can_create_deployments
from deploychecks.audit.services import timeline as audit_timeline
from deploychecks.core.errors import Forbidden
from deploychecks.runs import access, idempotency, services
from deploychecks.runs.forms import DeploymentForm
from deploychecks.runs.fragments import (
    PARTIALS,
    _items_queryset,
    progress,
)
from deploychecks.runs.models import ItemNote, RunItem, RunSubCheck
from deploychecks.runs.page import page_context
from deploychecks.runs.presence import viewers_now


@require_http_methods(["GET", "POST"])
def deployment_create(request):
    if not can_create_deployments(request.user):
        # Whoever creates a deployment leads it (and so sets its reminder webhook):
        # not something a viewer or an approver should be able to make themselves.
        raise Forbidden(
            "Starting a deployment is for engineers, leads and admins: your account is not "
            "in the engineers group. Ask an admin to add you, or ask a lead to start it and "
            "add you to its team.",
            back_url=reverse("history:list"),
            back_label="Back to the deployments",
        )
    if request.method == "GET" or "show_roles" in request.POST:
        # The page, or (its revision changed) its approver selects for that
        # revision: picked by htmx from the page, or the no-JavaScript button.
        source = request.GET if request.method == "GET" else request.POST
        initial = {
            name: source.getlist(name) if name in ("engineers", "viewers") else source.get(name)
            for name in source
            if name not in ("csrfmiddlewaretoken", "show_roles", idempotency.FIELD)
        }
        form = DeploymentForm(initial=initial, lead=request.user)
        return render(request, "runs/create.html", {"form": form})
    form = DeploymentForm(request.POST, lead=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            deployment = services.create_deployment(
                data["revision"],
                user=request.user,
                release_name=data["release_name"],
                version=data["version"],
                previous_version=data["previous_version"],
                service=data["service"],
                environment=data["environment"],
                planned_start=data["planned_start"],
                lead=request.user,
                engineers=data["engineers"],
                approvers=form.approver_pairs(),
                viewers=data["viewers"],
                request=request,
                idempotency_key=request.POST.get(idempotency.FIELD, ""),
            )
        except services.RunError as exc:
            # Refused as a whole (one person picked for two sign-off roles, say).
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Deployment “{deployment.release_name}” created.")
            return redirect(deployment)
    return render(request, "runs/create.html", {"form": form}, status=422 if form.errors else 200)


def _timeline_context(request, deployment):
    actor = request.GET.get("actor", "")
    kind = request.GET.get("kind", "")
    events = audit_timeline(
        deployment, actor_id=int(actor) if actor.isdecimal() else None, action_prefix=kind or None
    )
    actors = (
        deployment.audit_events.exclude(actor__isnull=True)
        .values_list("actor_id", "actor_name")
        .distinct()
        .order_by("actor_name")
    )
    kinds = deployment.audit_events.values_list("action", flat=True).distinct().order_by("action")
    return {
        "timeline": events,
        "timeline_actors": list(actors),
        "timeline_kinds": list(kinds),
        "timeline_actor": actor,
        "timeline_kind": kind,
    }


@require_GET
def deployment_detail(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    context = page_context(request, deployment, role)
    # The timeline is fetched when its panel is opened (runs:timeline).
    context["viewers_now"] = viewers_now(deployment.pk)
    return render(request, "runs/detail.html", context)


@require_GET
def checklist_fragment(request, pk):
    """The whole checklist from the database: what a reconnecting page resyncs to."""
    deployment, role = access.get_deployment_for(request.user, pk)
    return render(request, f"{PARTIALS}#checklist", page_context(request, deployment, role))


@require_GET
def timeline_fragment(request, pk):
    deployment, _ = access.get_deployment_for(request.user, pk)
    context = {"deployment": deployment, **_timeline_context(request, deployment)}
    return render(request, f"{PARTIALS}#timeline", context)


@require_GET
def presence_fragment(request, pk):
    deployment, _ = access.get_deployment_for(request.user, pk)
    return render(request, f"{PARTIALS}#presence", {"viewers_now": viewers_now(deployment.pk)})


def _item_response(request, deployment, item_id, role, *, status=200, error="", typed=None):
    """The item row and both progress bars. `typed` is what the person typed
    into the row's forms (a refusal gives it back, see `_refused`)."""
    item = _items_queryset().select_related("phase").get(pk=item_id, deployment=deployment)
    phase = item.phase
    phase.progress = progress(list(RunItem.objects.filter(phase=phase).only("state")))
    can_edit = access.can_edit(role) and not deployment.is_finished
    context = {
        "deployment": deployment,
        "item": item,
        "phase": phase,
        "error": error,
        "typed": typed or {},
        "can_edit": can_edit,
        # An owner who is no engineer ticks, marks N/A and ticks sub-checks of
        # what they own; notes stay with the lead and engineers.
        "can_tick": can_edit
        or (
            role is not None
            and not deployment.is_finished
            and services.may_edit_item(deployment, request.user, item)
        ),
        "overall": progress(list(RunItem.objects.filter(deployment=deployment).only("state"))),
    }
    html = "".join(
        render_to_string(f"{PARTIALS}#{name}", context, request=request)
        for name in ("item", "phase-progress", "overall-progress")
    )
    return HttpResponse(html, status=status)


def _int(value, default=-1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_POST
def item_state(request, pk, item_id):
    # Straight to the service, which locks the deployment and checks the user's
    # access and the item itself (a tick is the hottest request there is).
    try:
        change = services.set_item_state(
            deployment_id=pk,
            item_id=item_id,
            state=request.POST.get("state", ""),
            expected_version=_int(request.POST.get("version")),
            user=request.user,
            reason=request.POST.get("reason", ""),
            request=request,
        )
    except services.RunError as exc:
        return _refused(request, pk, item_id, exc)
    if change.html is not None:
        # The fragments just broadcast to every editor are this response, too.
        return HttpResponse(change.html)
    deployment, role = access.get_deployment_for(request.user, pk)
    return _item_response(request, deployment, item_id, role)


@require_POST
def subcheck_state(request, pk, subcheck_id):
    try:
        change = services.set_subcheck_state(
            deployment_id=pk,
            subcheck_id=subcheck_id,
            done=request.POST.get("done") == "true",
            expected_version=_int(request.POST.get("version")),
            user=request.user,
            request=request,
        )
    except services.RunError as exc:
        item_id = RunSubCheck.objects.filter(pk=subcheck_id, item__deployment_id=pk)
        return _refused(request, pk, item_id.values_list("item_id", flat=True).first(), exc)
    deployment, role = access.get_deployment_for(request.user, pk)
    return _item_response(request, deployment, change.obj.item_id, role)


@require_POST
def add_note(request, pk, item_id):
    try:
        services.add_item_note(
            deployment_id=pk,
            item_id=item_id,
            body=request.POST.get("body", ""),
            kind=request.POST.get("kind", "note"),
            user=request.user,
            request=request,
            idempotency_key=request.POST.get(idempotency.FIELD, ""),
            reply_to_id=request.POST.get("reply_to") or None,
        )
    except services.RunError as exc:
        return _refused(request, pk, item_id, exc)
    deployment, role = access.get_deployment_for(request.user, pk)
    return _item_response(request, deployment, item_id, role)


def _note_item_id(pk, note_id):
    """The item of a note of this deployment, or None."""
    notes = ItemNote.objects.filter(pk=note_id, item__deployment_id=pk)
    return notes.values_list("item_id", flat=True).first()


@require_POST
def edit_note(request, pk, note_id):
    try:
        change = services.edit_item_note(
            deployment_id=pk,
            note_id=note_id,
            body=request.POST.get("body", ""),
            expected_version=_int(request.POST.get("version"), None),
            user=request.user,
            request=request,
        )
    except services.RunError as exc:
        return _refused(request, pk, _note_item_id(pk, note_id), exc)
    deployment, role = access.get_deployment_for(request.user, pk)
    return _item_response(request, deployment, change.obj.item_id, role)


@require_POST
def delete_note(request, pk, note_id):
    try:
        change = services.delete_item_note(
            deployment_id=pk, note_id=note_id, user=request.user, request=request
        )
    except services.RunError as exc:
        return _refused(request, pk, _note_item_id(pk, note_id), exc)
    deployment, role = access.get_deployment_for(request.user, pk)
    return _item_response(request, deployment, change.obj.item_id, role)


def _refused(request, pk, item_id, exc: services.RunError) -> HttpResponse:
    """A refused item change: the item as it is now, with the reason, and with
    the N/A reason or note the person typed back in its field, so a conflict
    (409: someone changed the item meanwhile) costs them no typing.

    An outsider, or an item or sub-check that is not in this deployment, gets
    404 with nothing about the deployment (as `get_deployment_for` gives).
    """
    deployment, role = access.get_deployment_for(request.user, pk)  # 404 for an outsider
    if isinstance(exc, services.NoAccess) or not (
        item_id and RunItem.objects.filter(pk=item_id, deployment=deployment).exists()
    ):
        return HttpResponse(escape(getattr(exc, "message", "No such item.")), status=404)
    typed = {
        "reason": request.POST.get("reason", "") if request.POST.get("state") == "na" else "",
        "note": request.POST.get("body", ""),
        "note_kind": request.POST.get("kind", ""),
        # Which note's reply or edit form it came from (runs/item/notes.html).
        "reply_to": request.POST.get("reply_to", ""),
        "edit_note": str(request.resolver_match.kwargs["note_id"])
        if request.resolver_match.url_name == "edit_note"
        else "",
    }
    return _item_response(
        request, deployment, item_id, role, status=exc.status_code, error=exc.message, typed=typed
    )
