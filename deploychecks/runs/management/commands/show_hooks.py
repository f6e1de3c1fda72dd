"""`manage.py show_hooks`: what each feature does when a deployment changes.

With runs.services, this answers "what happens when an item is ticked": the
service function, then these handlers, in this order.
"""

from django.core.management.base import BaseCommand

from deploychecks.runs.hooks import Hook


class Command(BaseCommand):
    help = "List the handlers and guards connected to each deployment event, in call order."

    def handle(self, *args, **options):
        for hook in Hook.every:
            self.stdout.write(self.style.MIGRATE_HEADING(hook.name))
            for handler in hook.handlers or ():
                self.stdout.write(f"  {handler.__module__}.{handler.__qualname__}")
            if not hook.handlers:
                self.stdout.write("  (none)")
