import dataclasses
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.checklists.parser import (
    MAX_BYTES,
    ChecklistParseError,
    decode,
    name_from_path,
    parse_checklist,
)
from deploychecks.checklists.services import TemplateNameTaken, save_template


class Command(BaseCommand):
    help = "Import a Markdown checklist as a template (or a new revision of one)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Markdown file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="parse and report only")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--revision-of", metavar="TEMPLATE", help="add a revision to this template (id or name)"
        )
        parser.add_argument(
            "--name",
            help="template name when the file has no '# Title' or front matter title "
            "(default: from the file's name)",
        )

    def handle(self, *args, path, dry_run, format, revision_of, name, **options):
        fallback = name or (name_from_path(path) if path != "-" else None)
        try:
            text, encoding = decode(self._read(path))
            parsed = parse_checklist(text, fallback_name=fallback, encoding=encoding)
        except ChecklistParseError as exc:
            raise CommandError(f"{path}: {exc}") from None
        counts = parsed.counts()
        saved = None
        if not dry_run:
            template = self._template(revision_of) if revision_of else None
            try:
                saved = save_template(
                    parsed, source=text, template=template, change_note=f"imported from {path}"
                )
            except TemplateNameTaken as exc:
                raise CommandError(str(exc)) from None
        if format == "json":
            if saved:
                counts.update(template_id=saved.template_id, revision=saved.number)
            counts["dry_run"] = dry_run
            counts["encoding"] = parsed.report.encoding
            counts["ignored"] = [dataclasses.asdict(i) for i in parsed.report.ignored]
            self.stdout.write(json.dumps(counts))
            return
        self._write_text(parsed, counts, dry_run, saved)

    def _write_text(self, parsed, counts, dry_run, saved) -> None:
        verb = "Parsed (dry run, nothing saved)" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} “{parsed.name}” ({parsed.report.encoding}): {counts['phases']} phases, "
            f"{counts['sections']} sections, {counts['steps']} steps, {counts['items']} items, "
            f"{counts['subchecks']} sub-checks, {len(counts['signoff_roles'])} sign-off roles, "
            f"{counts['contacts']} contacts ({counts['contacts_not_filled_in']} not filled in), "
            f"{counts['signals']} go/no-go signals."
        )
        for entry in parsed.report.ignored:
            lines = f"{entry.line}-{entry.end_line}" if entry.end_line > entry.line else entry.line
            self.stdout.write(f"  line {lines}: {entry.what}: {entry.why}")
        if saved:
            self.stdout.write(f"Template id {saved.template_id}, revision {saved.number}.")

    def _read(self, path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read(MAX_BYTES + 1)
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        if file.stat().st_size > MAX_BYTES:
            raise CommandError(
                f"{path}: the file is {file.stat().st_size:,} bytes; the limit is "
                f"{MAX_BYTES:,} bytes (1 MB)"
            )
        return file.read_bytes()

    def _template(self, ref: str) -> ChecklistTemplate:
        query = (
            ChecklistTemplate.objects.filter(pk=int(ref))
            if ref.isdecimal()
            else ChecklistTemplate.objects.filter(name=ref)
        )
        template = query.first()
        if template is None:
            raise CommandError(f"no template with id or name {ref!r}")
        return template
