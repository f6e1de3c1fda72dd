from django.contrib import messages
from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.forms import EditForm, ImportForm
from deploychecks.checklists.models import ChecklistTemplate, TemplateRevision
from deploychecks.checklists.parser import ChecklistParseError, parse_checklist
from deploychecks.checklists.services import TemplateNameTaken, load_parsed, save_template
from deploychecks.core.errors import Forbidden

MANAGE = "checklists.add_checklisttemplate"


def _require_manage(request, action: str, back_url: str) -> None:
    """Templates are the admins' (group "admins"): anyone else gets a 403 page saying so."""
    if not request.user.has_perm(MANAGE):
        raise Forbidden(
            f"{action} is for admins: templates are shared by every team, so only members "
            "of the admins group change them. Ask an admin to do it, or to add you to "
            "that group.",
            back_url=back_url,
            back_label="Back to the templates",
        )


def get_revision(template_id: int, number: int | None) -> TemplateRevision:
    revisions = TemplateRevision.objects.select_related("template").filter(template_id=template_id)
    if number is None:
        revision = revisions.order_by("-number").first()
        if revision is None:
            raise Http404("This template has no revision.")
        return revision
    return get_object_or_404(revisions, number=number)


@require_GET
def template_list(request):
    templates = ChecklistTemplate.objects.annotate(
        revision_count=Count("revisions"),
        latest=Max("revisions__number"),
        updated_at=Max("revisions__created_at"),
    ).order_by("-is_default", "name")
    return render(
        request,
        "checklists/list.html",
        {
            "templates": templates,
            "can_manage": request.user.has_perm(MANAGE),
        },
    )


@require_GET
def template_detail(request, template_id, number=None):
    revision = get_revision(template_id, number)
    parsed = load_parsed(revision)
    revisions = (
        revision.template.revisions.order_by("-number")
        .only("number", "created_at", "change_note", "created_by__username")
        .select_related("created_by")
    )
    return render(
        request,
        "checklists/detail.html",
        {
            "template": revision.template,
            "revision": revision,
            "is_latest": revision.number == max(r.number for r in revisions),
            "parsed": parsed,
            "counts": parsed.counts(),
            "revisions": revisions,
            "can_manage": request.user.has_perm(MANAGE),
            "gate_phases": revision.phases.order_by("position"),
            "gate_roles": revision.signoff_roles.filter(before_go_live=True).order_by("position"),
            "signoff_roles": revision.signoff_roles.order_by("position").prefetch_related(
                "covered_phases"
            ),
        },
    )


@require_GET
def export_revision(request, template_id, number):
    revision = get_revision(template_id, number)
    markdown = export_markdown(load_parsed(revision))
    response = HttpResponse(markdown, content_type="text/markdown; charset=utf-8")
    filename = f"{revision.template.name[:60]}-r{revision.number}.md"
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def _preview_or_save(
    request,
    form,
    *,
    source,
    template,
    change_note,
    template_name,
    context,
    fallback_name=None,
    encoding=None,
):
    """Shared by import and edit: parse, then either show a preview or save.

    `fallback_name` names a checklist without a title; `encoding` is how an
    uploaded file was decoded (both shown in the preview).
    """
    try:
        parsed = parse_checklist(source, fallback_name=fallback_name, encoding=encoding)
    except ChecklistParseError as exc:
        context.update(form=form, error=exc)
        return render(request, template_name, context, status=422)
    if request.POST.get("action") != "save":
        context.update(form=form, parsed=parsed, counts=parsed.counts(), preview=True)
        if request.htmx:
            return render(request, f"{template_name}#preview", context)
        return render(request, template_name, context)
    try:
        revision = save_template(
            parsed, user=request.user, source=source, template=template, change_note=change_note
        )
    except TemplateNameTaken as exc:
        context.update(form=form, error=ChecklistParseError(str(exc)))
        return render(request, template_name, context, status=422)
    items, phases = parsed.counts()["items"], len(parsed.phases)
    messages.success(
        request,
        f"Saved “{revision.template.name}” revision {revision.number}: "
        f"{items} item{pluralize(items)} in {phases} phase{pluralize(phases)}.",
    )
    url = revision.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET", "POST"])
def import_template(request):
    _require_manage(request, "Importing a template", reverse("checklists:list"))
    if request.method == "GET":
        initial = {"template": request.GET.get("template")} if request.GET.get("template") else {}
        return render(request, "checklists/import.html", {"form": ImportForm(initial=initial)})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "checklists/import.html", {"form": form}, status=422)
    source, encoding = form.cleaned_data["source"], form.cleaned_data["encoding"]
    # Keep what was uploaded in the text box (and the file's name), so "Save"
    # after a preview posts it again.
    data = request.POST.copy()
    data["markdown_text"] = source
    data["source_name"] = form.cleaned_data.get("source_name", "")
    form = ImportForm(data)
    form.is_valid()
    return _preview_or_save(
        request,
        form,
        source=source,
        template=form.cleaned_data.get("template"),
        change_note=form.cleaned_data.get("change_note", ""),
        template_name="checklists/import.html",
        context={},
        fallback_name=form.cleaned_data.get("source_name"),
        encoding=encoding,
    )


@require_http_methods(["GET", "POST"])
def edit_template(request, template_id):
    _require_manage(request, "Editing a template", reverse("checklists:detail", args=[template_id]))
    revision = get_revision(template_id, None)
    context = {"template": revision.template, "revision": revision}
    if request.method == "GET":
        source = export_markdown(load_parsed(revision))
        context["form"] = EditForm(initial={"markdown_text": source})
        return render(request, "checklists/edit.html", context)
    form = EditForm(request.POST)
    if not form.is_valid():
        context["form"] = form
        return render(request, "checklists/edit.html", context, status=422)
    source = form.cleaned_data["markdown_text"]
    try:
        # Without a '# Title' line the text keeps the template's name.
        parsed = parse_checklist(source, fallback_name=revision.template.name)
    except ChecklistParseError as exc:
        context.update(form=form, error=exc)
        return render(request, "checklists/edit.html", context, status=422)
    if parsed.name != revision.template.name:
        # The template keeps its name; a renamed '# Title' would be confusing.
        source_name = parsed.name
        context.update(
            form=form,
            error=ChecklistParseError(
                f"the '# {source_name}' line must stay '# {revision.template.name}'", 1
            ),
        )
        return render(request, "checklists/edit.html", context, status=422)
    return _preview_or_save(
        request,
        form,
        source=source,
        template=revision.template,
        change_note=form.cleaned_data["change_note"],
        template_name="checklists/edit.html",
        context=context,
        fallback_name=revision.template.name,
    )
