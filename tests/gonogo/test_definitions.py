"""A revision's signals come from the threshold table the importer parsed from its Markdown."""

import pytest

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.parser import parse_checklist
from deploychecks.checklists.services import load_parsed, save_template
from deploychecks.gonogo.definitions import definitions_for, save_signal_definitions
from deploychecks.runs.services import create_deployment

pytestmark = pytest.mark.django_db

SEED_SIGNALS = [
    ("Error rate", "%", "number", "above", 0.5, True, 1.0, False, 5),
    ("P95 latency", "ms", "number", "above", 600.0, True, 1000.0, False, 10),
    ("Database connections", "of 20", "number", "above", 18.0, False, 20.0, True, None),
    ("Data corruption", "yes/no", "boolean", "above", None, True, 1.0, True, None),
]
FIELDS = (
    "name",
    "unit",
    "kind",
    "direction",
    "yellow_at",
    "yellow_inclusive",
    "red_at",
    "red_inclusive",
    "sustained_minutes",
)

TABLE = """\
# Checkout

## Go

- [ ] Ship

## Go/no-go

| Signal | Green | Yellow | Red |
|---|---|---|---|
| Error rate (%) | < 1 | 1–2 | > 2 (rollback if sustained > 3 minutes) |
"""


def _deploy(revision, lead):
    return create_deployment(
        revision, user=lead, release_name="R", version="1", service="checkout", lead=lead
    )


def test_an_imported_seed_gets_the_four_signals_of_its_markdown(seed_bytes, lead):
    source = seed_bytes.decode("utf-8")
    revision = save_template(parse_checklist(seed_bytes), source=source, user=lead)

    deployment = _deploy(revision, lead)

    assert list(deployment.signals.order_by("position").values_list(*FIELDS)) == SEED_SIGNALS


def test_the_built_in_template_still_gets_its_four_signals(revision):
    names = [d.name for d in definitions_for(revision)]

    assert names == ["Error rate", "p95 latency", "Database connections", "Data corruption"]


def test_a_new_revision_that_changes_the_table_takes_the_new_thresholds(lead):
    first = save_template(parse_checklist(TABLE), source=TABLE, user=lead)
    definitions_for(first)
    changed = TABLE.replace("| < 1 | 1–2 | > 2", "| < 2 | 2–4 | > 4")

    newer = save_template(parse_checklist(changed), source=changed, template=first.template)

    assert [(d.yellow_at, d.red_at, d.sustained_minutes) for d in definitions_for(newer)] == [
        (2.0, 4.0, 3)
    ]


def test_an_export_carries_the_thresholds_an_admin_set(admin_user, lead):
    revision = save_template(parse_checklist(TABLE), source=TABLE, user=lead)
    row = {**dict(zip(FIELDS, SEED_SIGNALS[0], strict=True)), "red_at": 3.0}
    save_signal_definitions(revision=revision, rows=[row], user=admin_user)

    again = parse_checklist(export_markdown(load_parsed(revision)))

    assert [(s.name, s.yellow_at, s.red_at, s.sustained_minutes) for s in again.signals] == [
        ("Error rate", 0.5, 3.0, 5)
    ]


def test_placeholder_contacts_reach_the_deployment_as_not_filled_in(seed_bytes, lead):
    revision = save_template(parse_checklist(seed_bytes), user=lead)
    revision.contacts.filter(position=2).update(person="Bo", phone="+1 555 0100", filled_in=True)

    deployment = _deploy(revision, lead)

    assert list(deployment.contacts.order_by("position").values_list("filled_in", flat=True)) == [
        False,
        True,
        False,
        False,
        False,
    ]


def test_a_huge_integer_threshold_is_refused_as_a_number_error():
    from deploychecks.gonogo.definitions import _float_or_none
    from deploychecks.gonogo.errors import SignalError

    with pytest.raises(SignalError, match="must be a number"):
        _float_or_none(10**400, "green threshold", 1)  # float() raised OverflowError
