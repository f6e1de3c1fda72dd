"""Reminder schedules on template revisions: defaults, validation, the editor page."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from deploychecks.audit.models import AuditEvent
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import save_template
from deploychecks.reminders.models import ReminderRule
from deploychecks.reminders.schedule import DEFAULT_SCHEDULE

pytestmark = pytest.mark.django_db

SMALL_TEMPLATE = """# Small release

## Phase 1: Go

- [ ] **Deploy it**
"""


def _offsets(revision):
    return sorted(offset for rule in revision.reminder_rules.all() for offset in rule.offsets())


def test_default_template_covers_the_stabilization_table(revision):
    rules = {rule.title: rule for rule in revision.reminder_rules.all()}
    assert len(rules) == len(DEFAULT_SCHEDULE) == 9
    smoke = rules["Re-run the smoke tests (sign-in, dashboard, key features, search)"]
    assert smoke.offsets() == [15, 30, 45, 60]
    health = rules["Call the health check endpoint and review the result"]
    assert health.offsets() == [90, 120, 150, 180, 210, 240, 270, 300, 330, 360]
    assert rules["Work through the feature validation checks"].offsets() == [
        120,
        180,
        240,
        300,
        360,
    ]
    syncs = [r for r in rules.values() if "sync" in r.title.lower()]
    assert sorted(r.offset_minutes for r in syncs) == [120, 360, 720]
    reviews = [r for r in rules.values() if "review" in r.title.lower() and r.kind == "once"]
    assert sorted(r.offset_minutes for r in reviews) == [1440, 2880, 4320]
    assert len(_offsets(revision)) == 25


def test_imported_template_gets_the_default_schedule(db):
    revision = save_template(parse_checklist(SMALL_TEMPLATE), source=SMALL_TEMPLATE)
    assert len(_offsets(revision)) == 25


def test_new_revision_keeps_the_edited_schedule(db, admin_user):
    first = save_template(parse_checklist(SMALL_TEMPLATE), source=SMALL_TEMPLATE)
    first.reminder_rules.exclude(position=1).delete()
    second = save_template(
        parse_checklist(SMALL_TEMPLATE),
        source=SMALL_TEMPLATE,
        template=first.template,
        user=admin_user,
    )
    assert [r.title for r in second.reminder_rules.all()] == [DEFAULT_SCHEDULE[0][2]]
    assert first.reminder_rules.count() == 1  # copied, not moved


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "once", "offset_minutes": -5}, "offset_minutes", "negative"),
        (
            {"kind": "repeat", "start_minutes": -1, "end_minutes": 10, "interval_minutes": 5},
            "start_minutes",
            "negative",
        ),
        (
            {"kind": "repeat", "start_minutes": 0, "end_minutes": 10, "interval_minutes": 0},
            "interval_minutes",
            "at least 1 minute",
        ),
        (
            {"kind": "repeat", "start_minutes": 30, "end_minutes": 10, "interval_minutes": 5},
            "end_minutes",
            "not be before the start",
        ),
        ({"kind": "once"}, "offset_minutes", "Required"),
    ],
)
def test_invalid_rules_are_refused_by_clean(revision, fields, field, message):
    rule = ReminderRule(revision=revision, position=99, title="Check", **fields)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert message in " ".join(error.value.message_dict[field])


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "once", "offset_minutes": -5},
        {"kind": "repeat", "start_minutes": 0, "end_minutes": 10, "interval_minutes": 0},
        {"kind": "repeat", "start_minutes": 30, "end_minutes": 10, "interval_minutes": 5},
        {"kind": "repeat", "start_minutes": -1, "end_minutes": 10, "interval_minutes": 5},
        {"kind": "once", "offset_minutes": 5, "interval_minutes": 5},
    ],
)
def test_the_database_refuses_invalid_rules_too(revision, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderRule.objects.create(revision=revision, position=99, title="Check", **fields)


def _formset_data(revision, **overrides):
    data = {
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-title": "Ping the on-call",
        "rules-0-kind": "repeat",
        "rules-0-start_minutes": "10",
        "rules-0-end_minutes": "50",
        "rules-0-interval_minutes": "20",
        "rules-0-items": "Deploy it\nSmoke",
        "rules-0-notify": ["lead", "approvers"],
        "rules-0-contact_roles": " DevOps lead, ",
    }
    data.update(overrides)
    return data


def _rules_url(revision):
    return f"/templates/{revision.template_id}/r{revision.number}/reminders/"


def test_admin_replaces_the_schedule(admin_client, admin_user, revision):
    response = admin_client.post(_rules_url(revision), _formset_data(revision))
    assert response.status_code == 302
    rules = list(revision.reminder_rules.all())
    assert [(r.title, r.offsets(), r.items, r.notify) for r in rules] == [
        (
            "Ping the on-call",
            [10, 30, 50],
            ["Deploy it", "Smoke"],
            ["lead", "approvers", "contact:DevOps lead"],
        )
    ]
    event = AuditEvent.objects.get(action="reminder_rules.changed")
    assert event.actor == admin_user and len(event.before["rules"]) == 9


def test_invalid_schedule_is_shown_again_with_errors_and_nothing_is_lost(admin_client, revision):
    data = _formset_data(
        revision, **{"rules-0-interval_minutes": "0", "rules-0-start_minutes": "-3"}
    )
    response = admin_client.post(_rules_url(revision), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Must be at least 1 minute." in html and "Must not be negative." in html
    assert 'value="Ping the on-call"' in html  # what was typed is still there
    assert revision.reminder_rules.count() == 9  # nothing saved


def test_unknown_recipients_are_refused(revision):
    rule = ReminderRule(
        revision=revision,
        position=99,
        title="Check",
        kind="once",
        offset_minutes=5,
        notify=["lead", "everyone", "contact:"],
    )
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert error.value.message_dict["notify"] == ["Unknown recipients: everyone, contact:."]


def test_rules_page_lists_the_schedule_for_admins(admin_client, revision):
    response = admin_client.get(_rules_url(revision))
    assert response.status_code == 200
    assert "Deployment sync meeting" in response.content.decode()


def test_engineer_cannot_edit_the_schedule(engineer_client, revision):
    assert engineer_client.get(_rules_url(revision)).status_code == 403
    assert engineer_client.post(_rules_url(revision), _formset_data(revision)).status_code == 403


def test_template_page_shows_the_schedule_and_edit_link(admin_user, engineer, revision):
    admin, other = Client(), Client()
    admin.force_login(admin_user)
    other.force_login(engineer)
    page = admin.get(revision.get_absolute_url()).content.decode()
    assert 'id="reminder-rules"' in page and _rules_url(revision) in page
    page = other.get(revision.get_absolute_url()).content.decode()
    assert "Final review and post-deployment debrief" in page
    assert _rules_url(revision) not in page
