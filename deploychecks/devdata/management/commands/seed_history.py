"""manage.py seed_history: realistic deployment history for a bench or demo database."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from deploychecks.audit.witness import write_head
from deploychecks.devdata.seeding import Progress, seed_history


class Command(BaseCommand):
    help = (
        "Generate N finished and running deployments of the default template over the "
        "last years, with about 100 audit events each. Seeded events cannot be deleted "
        "(the audit log is append-only): use a fresh bench or demo database."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--deployments",
            type=int,
            default=1000,
            metavar="N",
            help="how many deployments to add (default 1000)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="random seed, for the same data again (default: random)",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=200,
            metavar="B",
            help="deployments per transaction (default 200)",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=900,
            help="spread the deployments over this many past days (default 900)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(
        self, *args, deployments, seed, batch, days, no_progress, database, verbosity, **options
    ):
        if deployments < 1 or batch < 1 or days < 7:
            raise CommandError("--deployments and --batch must be at least 1, --days at least 7.")
        quiet = verbosity == 0
        name = connections[database].settings_dict["NAME"]
        if not quiet:
            self.stdout.write(
                f"Adding {deployments:,} deployments over the last {days} days to {name} "
                f"(seed {seed if seed is not None else 'random'}); their audit events join "
                "the hash chain and cannot be removed again."
            )
        progress = None if quiet or no_progress else Progress(deployments, self.stderr._out)
        report = seed_history(
            deployments, seed=seed, batch=batch, days=days, using=database, progress=progress
        )
        if progress:
            progress.finish()
        # Thousands of events at once: the witness records the new head now
        # rather than at beat's next run (verify_audit checks the chain against it).
        write_head(using=database)
        if not quiet:
            outcomes = ", ".join(
                f"{count:,} {status}"
                for status, count in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
            )
            self.stdout.write(
                f"Done in {report.seconds:.1f} s (seed {report.seed}): {report.deployments:,} "
                f"deployments ({outcomes}), {report.items:,} items, {report.events:,} audit "
                f"events ({report.events / report.deployments:.0f} per deployment)."
            )
