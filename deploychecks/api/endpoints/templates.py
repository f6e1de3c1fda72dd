"""Templates: list, one revision's structure, export, and importing Markdown."""

import dataclasses

from django.db.models import Prefetch
from django.http import HttpResponse
from ninja import Query, Router, Schema, Status

from deploychecks.api import schemas
from deploychecks.api.auth import need
from deploychecks.api.models import ApiToken, Scope
from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.models import ChecklistTemplate, Item, TemplateRevision
from deploychecks.checklists.parser import ChecklistParseError, parse_checklist
from deploychecks.checklists.parser.keys import assign_keys
from deploychecks.checklists.parser.owners import describe_due
from deploychecks.checklists.services import TemplateNameTaken, load_parsed, save_template
from deploychecks.core.errors import NoAccess, NotAllowed, RunError

router = Router(tags=["templates"])
MANAGE = "checklists.add_checklisttemplate"


class RevisionQuery(Schema):
    revision: int | None = None


def _revision_out(revision: TemplateRevision | None) -> dict | None:
    if revision is None:
        return None
    return {
        "id": revision.pk,
        "number": revision.number,
        "created_at": revision.created_at,
        "change_note": revision.change_note,
    }


def _template_out(template: ChecklistTemplate) -> dict:
    latest = max(template.revisions.all(), key=lambda r: r.number, default=None)
    return {
        "id": template.pk,
        "name": template.name,
        "is_default": template.is_default,
        "latest_revision": _revision_out(latest),
    }


def _revision(template_id: int, number: int | None) -> TemplateRevision:
    revisions = TemplateRevision.objects.select_related("template").filter(template_id=template_id)
    revision = (
        revisions.order_by("-number").first()
        if number is None
        else revisions.filter(number=number).first()
    )
    if revision is None:
        raise NoAccess("No such template or revision.")
    return revision


@router.post(
    "/import",
    response={200: schemas.ImportOut, 201: schemas.ImportOut, 403: schemas.Problem},
    summary="Import Markdown: a dry run (the preview's report) or save",
)
def import_template(request, payload: schemas.ImportIn):
    token = need(request, Scope.IMPORT)
    try:
        parsed = parse_checklist(payload.markdown, fallback_name=payload.name or None)
    except ChecklistParseError as exc:
        raise RunError(str(exc)) from None
    answer = {
        "saved": False,
        "name": parsed.name,
        "counts": parsed.counts(),
        "ignored": [dataclasses.asdict(i) for i in parsed.report.ignored],
    }
    if payload.dry_run:
        return Status(200, answer)
    if token.kind == ApiToken.Kind.PERSONAL and not token.user.has_perm(MANAGE):
        raise NotAllowed("Saving a template is for admins (the person behind this token is not).")
    template = None
    if payload.template_id is not None:
        template = ChecklistTemplate.objects.filter(pk=payload.template_id).first()
        if template is None:
            raise NoAccess("No such template.")
    try:
        revision = save_template(
            parsed,
            user=token.user,
            source=payload.markdown,
            template=template,
            change_note=payload.change_note,
        )
    except TemplateNameTaken as exc:
        raise RunError(str(exc)) from None
    answer.update(saved=True, template_id=revision.template_id, revision=revision.number)
    return Status(201, answer)


@router.get("", response=list[schemas.TemplateOut], summary="List templates")
def list_templates(request):
    need(request, Scope.READ)
    templates = ChecklistTemplate.objects.prefetch_related("revisions").order_by("name")
    return [_template_out(t) for t in templates]


@router.get(
    "/{template_id}",
    response={200: schemas.TemplateDetailOut, 404: schemas.Problem},
    summary="A template revision's structure, with each item's key",
)
def get_template(request, template_id: schemas.Id, query: Query[RevisionQuery]):
    need(request, Scope.READ)
    revision = _revision(template_id, query.revision)
    template = revision.template
    phases = revision.phases.order_by("position").prefetch_related(
        Prefetch("items", queryset=Item.objects.order_by("position").prefetch_related("subchecks"))
    )
    phase_items = [(phase, list(phase.items.all())) for phase in phases]
    keys = iter(assign_keys((i.key, i.title) for _, items in phase_items for i in items))
    return {
        **_template_out(template),
        "revision": _revision_out(revision),
        "revisions": [_revision_out(r) for r in template.revisions.order_by("-number")],
        "phases": [
            {
                "title": phase.title,
                "timing_label": phase.timing_label,
                "stage": phase.stage,
                "items": [
                    {
                        "key": next(keys),
                        "title": i.title,
                        "summary": i.summary,
                        "required": i.required,
                        "owners": i.owners,
                        "due": describe_due(i.due_minutes, i.due_anchor) if i.due_anchor else "",
                        "subchecks": [s.title for s in i.subchecks.all()],
                    }
                    for i in items
                ],
            }
            for phase, items in phase_items
        ],
        "signoff_roles": list(
            revision.signoff_roles.order_by("position").values_list("name", flat=True)
        ),
    }


@router.get(
    "/{template_id}/export",
    response={200: str, 404: schemas.Problem},
    summary="A template revision as Markdown",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The Markdown",
                "content": {"text/markdown": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export_template(request, template_id: schemas.Id, query: Query[RevisionQuery]):
    need(request, Scope.READ)
    revision = _revision(template_id, query.revision)
    return HttpResponse(
        export_markdown(load_parsed(revision)), content_type="text/markdown; charset=utf-8"
    )
