"""`manage.py show_hooks`: what each feature does when a deployment changes.

With runs.services, this answers "what happens when an item is ticked": the
service function, then these handlers, in this order.
"""

from django.core.management.base import BaseCommand

from deploychecks.runs import hooks
from deploychecks.runs.hooks import Hook


class Command(BaseCommand):
    help = (
        "List the handlers and guards connected to each deployment event, in call order,"
        " and the templates in each slot of the run page."
    )

    def handle(self, *args, **options):
        for hook in Hook.every:
            self.stdout.write(self.style.MIGRATE_HEADING(hook.name))
            for handler in hook.handlers or ():
                self.stdout.write(f"  {handler.__module__}.{handler.__qualname__}")
            if not hook.handlers:
                self.stdout.write("  (none)")
        # The run page's slots: the features' templates, in the order they show.
        for slot in hooks.slots:
            self.stdout.write(self.style.MIGRATE_HEADING(f"run page slot: {slot}"))
            for name in hooks.slots.templates(slot) or ("(none)",):
                self.stdout.write(f"  {name}")
        self.stdout.write(self.style.MIGRATE_HEADING("note text on the run page"))
        formatter = hooks.note_text
        name = getattr(formatter, "__qualname__", None)
        self.stdout.write(f"  {formatter.__module__}.{name}" if name else f"  {formatter!r}")
