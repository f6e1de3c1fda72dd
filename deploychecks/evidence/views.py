from django.contrib import messages
from django.core.files.storage import default_storage
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from deploychecks.core.errors import NoAccess, RunError
from deploychecks.evidence import content, services
from deploychecks.runs import access, hooks
from deploychecks.runs.models import ItemNote, RunItem, RunSubCheck


def _may_add(request, deployment, role, item) -> bool:
    """Whoever may tick the item (the lead, engineers, its owners), while it is open."""
    if deployment.is_finished:
        return False
    return access.can_edit(role) or any(
        hooks.item_editors.send(
            hooks.ItemAccess(deployment=deployment, actor=request.user, item=item)
        )
    )


@require_GET
def form(request, pk, item_id):
    """The "Add evidence" form of one item, fetched when its panel is first opened."""
    deployment, role = access.get_deployment_for(request.user, pk)  # 404 for an outsider
    item = RunItem.objects.filter(pk=item_id, deployment=deployment).first()
    if item is None:
        raise Http404("No such item.")
    if not _may_add(request, deployment, role, item):
        return HttpResponse(
            "Only the lead, engineers and this item's owners can add evidence to it.", status=403
        )
    context = {"deployment": deployment, "item": item, "evidence_typed": {}}
    return HttpResponse(render_to_string("evidence/form.html", context, request=request))


def _item_row(request, deployment, role, item_id, *, status=200, error="", typed=None):
    """The item's row as the run page shows it to this person (runs' `item` partial)."""
    item = (
        RunItem.objects.select_related("phase")
        .prefetch_related(
            Prefetch("subchecks", queryset=RunSubCheck.objects.order_by("position")),
            Prefetch("notes", queryset=ItemNote.objects.order_by("created_at", "pk")),
            *hooks.item_rows.send(None),
        )
        .get(pk=item_id, deployment=deployment)
    )
    can_edit = access.can_edit(role) and not deployment.is_finished
    context = {
        "deployment": deployment,
        "item": item,
        "phase": item.phase,
        "can_edit": can_edit,
        "can_tick": can_edit or _may_add(request, deployment, role, item),
        "evidence_error": error,
        "evidence_typed": typed or {},
        # The item's expanded part stays open to show the form (runs' `typed`).
        "typed": {"evidence": True} if typed else {},
    }
    if not context["can_tick"]:
        context["error"] = error  # no evidence form to show it in: at the item
    html = render_to_string("runs/detail.html#item", context, request=request)
    return HttpResponse(html, status=status)


@require_POST
def add(request, pk, item_id):
    """The item's "Add evidence" form: a link, or a file (one or the other).

    A file arrives whole before any view runs (middleware reads the form), so
    the web server in front caps request bodies (README, "Evidence"); the
    service refuses anything over EVIDENCE_MAX_BYTES with the limit in words.
    """
    deployment, role = access.get_deployment_for(request.user, pk)  # 404 for an outsider
    post = request.POST
    upload = request.FILES.get("file")
    typed = {
        "url": post.get("url", ""),
        "title": post.get("title", ""),
        "note": post.get("note", ""),
    }
    try:
        if upload is not None and typed["url"].strip():
            services.locked_item_check(request.user, pk, item_id)
            raise RunError("Add a link or a file, one at a time: this form had both.")
        if upload is not None:
            services.add_file(
                deployment_id=pk,
                item_id=item_id,
                upload=upload,
                title=post.get("title", ""),
                note_id=post.get("note") or None,
                user=request.user,
                request=request,
            )
        else:
            services.add_link(
                deployment_id=pk,
                item_id=item_id,
                url=post.get("url", ""),
                title=post.get("title", ""),
                note_id=post.get("note") or None,
                user=request.user,
                request=request,
            )
    except RunError as exc:
        if (
            isinstance(exc, NoAccess)
            or not RunItem.objects.filter(pk=item_id, deployment=deployment).exists()
        ):
            raise Http404("No such item.") from None
        if not request.htmx:
            messages.error(request, exc.message)
            return redirect(f"{deployment.get_absolute_url()}#item-{item_id}")
        return _item_row(
            request,
            deployment,
            role,
            item_id,
            status=exc.status_code,
            error=exc.message,
            typed=typed,
        )
    if not request.htmx:
        messages.success(request, "Evidence added.")
        return redirect(f"{deployment.get_absolute_url()}#item-{item_id}")
    # The panel stays open, its form empty, for the next piece.
    return _item_row(request, deployment, role, item_id, typed={"url": "", "title": "", "note": ""})


@require_GET
def download(request, pk, evidence_id):
    """A file, for anyone who may read the deployment: always an attachment, with
    the type read from its bytes, never sniffed by the browser, under the app's CSP."""
    try:
        evidence = services.evidence_for_download(request.user, pk, evidence_id)
    except NoAccess:
        raise Http404("No such file.") from None
    file_type = content.by_content_type(evidence.content_type) or content.TEXT
    try:
        handle = default_storage.open(evidence.file.name, "rb")
    except FileNotFoundError:
        raise Http404("This file is no longer stored.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=evidence.filename, content_type=file_type.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
