"""Follow-ups as set-up, straight into the database, at given times (for the analytics
tests: tests/retros/test_analytics.py and the history fixture of tests/history)."""

from datetime import date

from deploychecks.retros.models import FollowUp, Retrospective


def follow_up(deployment, created, done=None, *, title="Follow-up", owner=None) -> FollowUp:
    retro, _ = Retrospective.objects.get_or_create(
        deployment=deployment,
        defaults={"outcome": deployment.status, "opened_at": created},
    )
    return FollowUp.objects.create(
        retro=retro,
        deployment=deployment,
        title=title,
        owner=owner or deployment.lead,
        owner_name="owner",
        due_date=date(2030, 1, 1),
        created_at=created,
        created_by_name="set-up",
        done_at=done,
    )
