import sys

from django.core.management.base import BaseCommand

from deploychecks.audit import witness
from deploychecks.audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain, and the chain against the witness file; "
        "exit 1 naming every altered, forged or missing event found."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--witness",
            help="the witness file to check against (default: AUDIT_WITNESS_PATH)",
        )

    def handle(self, *args, **options):
        result = verify_chain()
        sightings, problems = witness.check(options["witness"])
        if not result.ok:
            event = result.first_bad
            self.stderr.write(
                f"audit chain broken at event {event.pk} "
                f"(deployment {event.deployment_id}, seq {event.seq}): {result.reason}"
            )
        for problem in problems:
            self.stderr.write(f"witness: {problem}")
        if not result.ok or problems:
            sys.exit(1)
        self.stdout.write(
            f"audit chain intact: {result.count} events; witness agrees ({sightings} sightings)"
        )
