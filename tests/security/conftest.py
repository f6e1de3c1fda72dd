"""People with every kind of access to one deployment, and ids to fill URLs with."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from deploychecks.runs.models import Deployment, ItemNote, Participant, RunSubCheck
from tests.conftest import may_start_deployments
from tests.gates import go_live


@pytest.fixture
def manager(make_user):
    user = make_user("mona")
    user.groups.add(Group.objects.get_or_create(name="managers")[0])
    return user


@pytest.fixture
def member(make_user, deployment):
    """A second viewer: the one the lead removes in the matrix."""
    user = make_user("mia")
    Participant.objects.create(deployment=deployment, user=user, role="viewer")
    return user


@pytest.fixture
def newcomer(make_user):
    """Someone the lead can add."""
    return make_user("nico")


@pytest.fixture
def people(lead, engineer, approver, viewer, outsider, manager, admin_user):
    """Role name -> user (None for anonymous). The lead and the engineer are in the
    engineers group, as the migration and admins put them: they may start deployments."""
    may_start_deployments(lead)
    may_start_deployments(engineer)
    return {
        "anonymous": None,
        "outsider": outsider,
        "viewer": viewer,
        "approver": approver,
        "engineer": engineer,
        "lead": lead,
        "manager": manager,
        "admin": admin_user,
    }


def _model(label):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


@pytest.fixture
def ids(deployment, first_item, member, newcomer, revision, lead, engineer):
    """Real ids for every URL keyword and every form field the matrix needs.

    The deployment is live (monitoring, went live an hour ago), so that the
    actions of a live deployment (readings, rollback, reminders) can be tried.
    """
    if Subscription := _model("webhooks.Subscription"):
        # The lead's, made before the deployment moves, so it has deliveries.
        subscription = Subscription.objects.create(
            name="Matrix hook",
            url="https://hooks.example.com/matrix",
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            service=deployment.service,
            event_types=["deployment.status_changed"],
            owner=lead,
        )
    go_live(deployment, lead)
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(
        started_at=now - timedelta(hours=2), go_live_at=now - timedelta(hours=1)
    )
    subcheck = RunSubCheck.objects.filter(item__deployment=deployment).order_by("pk").first()
    role = deployment.signoff_roles.order_by("position").first()
    values = SimpleNamespace(
        pk=deployment.pk,
        item_id=first_item.pk,
        subcheck_id=subcheck.pk,
        user_id=member.pk,
        newcomer=newcomer.pk,
        role_id=role.pk if role else None,
        template_id=revision.template_id,
        number=revision.number,
        revision=revision.pk,  # runs:create's form
        reminder_id=None,
        token=None,
        signal=None,
        fmt="json",  # history:export (each format's access: tests/history/test_exports.py)
        chart="rollback-rate",  # history:chart_csv
        subscription_id=None,
        delivery_id=None,
        evidence_id=None,
        section_id=None,
        follow_up_id=None,
        # runs:edit_note / delete_note: the engineer's note (the lead may change it too).
        note_id=ItemNote.objects.create(
            item=first_item, author=engineer, author_name="erin", body="Checked with the on-call."
        ).pk,
    )
    # Other apps' objects, looked up by label so this file does not depend on them.
    if Reminder := _model("reminders.Reminder"):
        reminder = Reminder.objects.filter(deployment=deployment).order_by("pk").first()
        if reminder is not None:
            Reminder.objects.filter(pk=reminder.pk).update(status="sent", sent_at=now)  # went out
            values.reminder_id = reminder.pk
    if _model("statuspage.StatusPage"):
        from deploychecks.statuspage import services as status_pages

        status_pages.enable(deployment_id=deployment.pk, user=lead)
        values.token = deployment.status_page.token
    if Subscription:
        values.subscription_id = subscription.pk
        values.delivery_id = subscription.deliveries.order_by("pk").first().pk
    if _model("evidence.Evidence"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from deploychecks.evidence import services as evidence

        screenshot = SimpleUploadedFile("screen.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
        values.evidence_id = evidence.add_file(
            deployment_id=deployment.pk, item_id=first_item.pk, upload=screenshot, user=lead
        ).obj.pk
    if _model("retros.Retrospective"):
        # A retrospective opens when a deployment finishes; opened here on the live
        # one so that its URLs can be tried (tests/retros tests the opening).
        from deploychecks.retros import services as retros

        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        retro = retros.open_retro(locked, outcome="completed")
        values.section_id = retro.sections.order_by("position").first().pk
        values.follow_up_id = retros.add_follow_up(
            deployment_id=deployment.pk,
            user=lead,
            title="Matrix follow-up",
            owner_id=lead.pk,
            due_date="2030-01-01",
        ).pk
    if deployment_signals := getattr(deployment, "signals", None):
        signal = deployment_signals.order_by("pk").first()
        values.signal = signal.name if signal else None
    return values


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client
