"""The built-in "Production deployment" template shipped with the project."""

from pathlib import Path

from django.db import transaction

from deploychecks.checklists.models import ChecklistTemplate, TemplateRevision
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template

DEFAULT_TEMPLATE_PATH = Path(__file__).with_name("default_template.md")


@transaction.atomic
def ensure_default_template() -> TemplateRevision:
    """Load the default template once; return its latest revision."""
    existing = ChecklistTemplate.objects.filter(is_default=True).first()
    if existing is not None:
        return existing.latest_revision
    source = DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8")
    revision = save_template(
        parse_checklist(source), source=source, change_note="built-in default template"
    )
    ChecklistTemplate.objects.filter(pk=revision.template_id).update(is_default=True)
    return revision
