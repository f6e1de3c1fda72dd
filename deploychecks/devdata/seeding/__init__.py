"""Realistic deployment history for a bench or demo database (`manage.py seed_history`).

Each seeded deployment is a full snapshot of the default template's latest
revision, exactly as `runs.services.create_deployment` makes it, lived through
as the services would have lived it: ticks, notes, sign-offs, reminders,
readings, rollbacks, and the audit events they write. Deployments are spread
over the last `days` days, one every few hours; the last few are still planned,
in progress or live.

    plans.py     what happens to each deployment (outcome, service, version, dates)
    script.py    when it happens: the actions of one deployment, scheduled
    story.py     the actions played on a simulated clock (live.py: once it is live)
    rows.py      the rows the story leaves; bulk.py writes them, COPY on PostgreSQL
    template.py  the template revision, flattened; people.py the seeded staff
    run.py       batches: one transaction each, events appended to the chain
    words.py     names, notes and reasons

Audit events are appended to the existing hash chain in time order, with the
hashes `audit.services` computes, so `manage.py verify_audit` still passes.
The audit table refuses DELETE: seeded history cannot be removed again, so
seed a fresh bench or demo database.
"""

from deploychecks.devdata.seeding.run import Progress, Report, seed_history

__all__ = ["Progress", "Report", "seed_history"]
