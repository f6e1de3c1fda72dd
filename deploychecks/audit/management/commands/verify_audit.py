import sys

from django.core.management.base import BaseCommand

from deploychecks.audit.services import verify_chain


class Command(BaseCommand):
    help = "Check the audit log's hash chain; exit 1 naming the first altered or missing event."

    def handle(self, *args, **options):
        result = verify_chain()
        if result.ok:
            self.stdout.write(f"audit chain intact: {result.count} events")
            return
        event = result.first_bad
        self.stderr.write(
            f"audit chain broken at event {event.pk} "
            f"(deployment {event.deployment_id}, seq {event.seq}): {result.reason}"
        )
        sys.exit(1)
