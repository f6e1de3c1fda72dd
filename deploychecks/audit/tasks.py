"""Celery tasks of the audit app: one, run by the `audit-witness` beat entry."""

from celery import shared_task

from deploychecks.audit.witness import write_head


@shared_task(name="audit.write_witness", ignore_result=True)
def write_witness() -> int | None:
    """Append the chain's head to the witness file (see audit.witness); its event id."""
    sighting = write_head()
    return sighting.event_id if sighting else None
