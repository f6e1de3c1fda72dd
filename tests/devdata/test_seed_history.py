"""manage.py seed_history: realistic, consistent history with an intact audit chain."""

import io
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client, override_settings
from django.urls import reverse

from deploychecks.audit.models import AuditEvent
from deploychecks.audit.services import verify_chain
from deploychecks.devdata.seeding import Progress
from deploychecks.gonogo.models import RollbackEpisode
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Deployment, GateOverride, RunItem
from deploychecks.signoffs.models import SignOff
from deploychecks.signoffs.snapshot import ChecklistState, hash_of

pytestmark = pytest.mark.django_db

COUNT = 40


@pytest.fixture(scope="module")
def seed_witness(tmp_path_factory):
    """The audit witness file of the module's seeding (seed_history writes the head)."""
    return tmp_path_factory.mktemp("witness") / "audit-witness.jsonl"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, seed_witness):
    """COUNT deployments with a fixed seed, once for the module; yields (stdout, stderr).

    Inside a transaction rolled back at the end: the audit table refuses the
    DELETE and TRUNCATE that would otherwise clean up.
    """
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(AUDIT_WITNESS_PATH=seed_witness),
    ):
        out, err = io.StringIO(), io.StringIO()
        call_command("seed_history", deployments=COUNT, seed=7, batch=15, stdout=out, stderr=err)
        yield out.getvalue(), err.getvalue()
        transaction.set_rollback(True)


def _manager_client():
    client = Client()
    client.force_login(get_user_model().objects.get(username="dana.director"))
    return client


def test_it_creates_the_mix_of_outcomes(seeded):
    statuses = Counter(Deployment.objects.values_list("status", flat=True))

    assert sum(statuses.values()) == COUNT
    assert set(statuses) == {
        "completed",
        "rolled_back",
        "aborted",
        "planned",
        "in_progress",
        "monitoring",
    }
    assert statuses["completed"] >= COUNT * 0.6


def test_it_writes_about_a_hundred_events_per_deployment(seeded):
    events = AuditEvent.objects.filter(deployment__isnull=False).count()

    assert 90 <= events / COUNT <= 170


def test_the_audit_chain_stays_intact(seeded, seed_witness, capsys):
    # Exits non-zero (SystemExit) on a broken chain, or one its witness disagrees with.
    call_command("verify_audit", witness=str(seed_witness))

    assert "audit chain intact" in capsys.readouterr().out
    assert verify_chain().ok


def test_each_deployment_seq_is_its_last_event(seeded):
    last = dict(
        AuditEvent.objects.filter(deployment__isnull=False)
        .values_list("deployment")
        .annotate(Max("seq"))
    )
    seqs = Counter(AuditEvent.objects.filter(seq__isnull=False).values_list("deployment", "seq"))

    for deployment in Deployment.objects.all():
        if deployment.is_finished:
            assert deployment.seq == last[deployment.pk], deployment
        else:  # a monitoring feed's reading takes a number without an event, as live
            assert deployment.seq >= last[deployment.pk], deployment
    assert set(seqs.values()) == {1}


def test_events_are_appended_in_time_order(seeded):
    times = list(
        AuditEvent.objects.filter(deployment__isnull=False)
        .order_by("id")
        .values_list("created_at", flat=True)
    )

    assert times == sorted(times)


def test_finished_deployments_look_like_real_ones(seeded):
    completed = Deployment.objects.filter(status="completed")
    rolled_back = Deployment.objects.filter(status="rolled_back")

    assert all(d.started_at and d.go_live_at and d.ended_at for d in completed)
    assert all(d.started_at <= d.go_live_at <= d.ended_at for d in completed)
    assert RollbackEpisode.objects.filter(
        deployment__in=rolled_back, completed_at__isnull=False
    ).count() == len(rolled_back)
    overridden = completed.filter(overrides__isnull=False)
    assert all(
        o.conditions and o.to_status == "completed"
        for o in GateOverride.objects.filter(deployment__in=overridden)
    )
    for deployment in completed.exclude(pk__in=overridden):
        valid = SignOff.objects.filter(deployment=deployment, status="valid", decision="approve")
        assert valid.count() == deployment.signoff_roles.count()
    assert SignOff.objects.filter(status="stale").exclude(stale_reason="").exists()
    assert RunItem.objects.filter(state="na").exclude(na_reason="").exists()
    assert Reminder.objects.filter(status="acknowledged").exists()
    assert Reminder.objects.filter(late_by__gt=timedelta(minutes=2)).exists()
    assert Reminder.objects.filter(escalated_at__isnull=False).exists()


def test_items_are_snapshots_of_the_template(seeded, revision):
    per_deployment = set(
        RunItem.objects.values("deployment").annotate(n=Count("id")).values_list("n", flat=True)
    )

    assert per_deployment == {sum(p.items.count() for p in revision.phases.all())}


def test_run_page_and_record_page_open_for_a_seeded_deployment(seeded):
    deployment = (
        Deployment.objects.filter(status="completed")
        .annotate(events=Count("audit_events"))
        .order_by("-events")
        .first()
    )
    client = _manager_client()

    assert client.get(deployment.get_absolute_url()).status_code == 200
    assert client.get(reverse("history:record", args=[deployment.pk])).status_code == 200


def test_seeded_sign_offs_keep_the_checklist_they_signed(seeded):
    signoffs = list(SignOff.objects.order_by("pk")[:60])
    assert signoffs

    for signoff in signoffs:
        snapshot = signoff.checklist_snapshot
        state = ChecklistState(
            items=[tuple(row) for row in snapshot["items"]],
            subchecks=[tuple(row) for row in snapshot["subchecks"]],
        )
        assert hash_of(state) == signoff.checklist_hash
        counts = snapshot["counts"]
        assert (
            counts["done"] + counts["na"] + counts["open"]
            == counts["items"]
            == len(snapshot["items"])
        )


def test_it_shows_progress_on_stderr(seeded):
    _, err = seeded

    assert f"{COUNT}/{COUNT} deployments" in err
    assert "events" in err and "ETA" in err


def test_progress_redraws_one_line_on_a_terminal():
    stream = io.StringIO()
    progress = Progress(10, stream, tty=True)

    progress(10, 1000)
    progress.finish()

    assert stream.getvalue().startswith("\r[####################] 10/10 deployments")
    assert stream.getvalue().endswith("\n")


def test_it_is_silent_with_verbosity_zero():
    before = Deployment.objects.count()
    out, err = io.StringIO(), io.StringIO()

    call_command("seed_history", deployments=3, seed=1, verbosity=0, stdout=out, stderr=err)

    assert out.getvalue() == err.getvalue() == ""
    assert Deployment.objects.count() == before + 3


def test_running_it_again_adds_the_same_deployments_to_the_chain():
    def made(after_pk):
        return list(
            Deployment.objects.filter(pk__gt=after_pk)
            .order_by("pk")
            .values_list("service", "version", "status", "seq")
        )

    start = Deployment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    call_command("seed_history", deployments=6, seed=3, verbosity=0)
    first = made(start)
    call_command("seed_history", deployments=6, seed=3, verbosity=0)

    assert made(start)[6:] == first
    assert verify_chain().ok
