from django.core.management.base import BaseCommand, CommandError

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.checklists.services import load_parsed


class Command(BaseCommand):
    help = "Print a template's Markdown (latest revision unless --revision) to stdout."

    def add_arguments(self, parser):
        parser.add_argument("template", help="template id or name")
        parser.add_argument("--revision", type=int, help="revision number (default: latest)")

    def handle(self, *args, template, revision, **options):
        query = ChecklistTemplate.objects.filter(name=template)
        if template.isdecimal():
            query = ChecklistTemplate.objects.filter(pk=int(template)) | query
        found = query.first()
        if found is None:
            raise CommandError(f"no template with id or name {template!r}")
        revisions = found.revisions.order_by("-number")
        chosen = revisions.filter(number=revision).first() if revision else revisions.first()
        if chosen is None:
            raise CommandError(f"template {found.name!r} has no revision {revision}")
        self.stdout.write(export_markdown(load_parsed(chosen)), ending="")
