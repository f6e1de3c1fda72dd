"""Round trip: exporting a template and importing the Markdown gives the same structure."""

import pytest
from hypothesis import HealthCheck, given, settings

from deploychecks.checklists.exporter import export_markdown
from deploychecks.checklists.parser import (
    ParsedContact,
    ParsedItem,
    ParsedNote,
    ParsedPhase,
    ParsedSection,
    ParsedSignal,
    ParsedStep,
    ParsedSubCheck,
    ParsedTemplate,
    parse_checklist,
)
from deploychecks.checklists.services import load_parsed, save_template
from tests.checklists.structure import structure, templates


def _round_trip(parsed: ParsedTemplate) -> ParsedTemplate:
    return parse_checklist(export_markdown(parsed))


def test_the_seed_survives_a_round_trip(seed_parsed):
    again = _round_trip(seed_parsed)

    assert structure(again) == structure(seed_parsed)


def test_the_default_template_survives_a_round_trip(default_template_path):
    parsed = parse_checklist(default_template_path.read_bytes())

    again = _round_trip(parsed)

    assert structure(again) == structure(parsed)


def test_an_export_is_stable_when_exported_again(seed_parsed):
    first = export_markdown(seed_parsed)

    second = export_markdown(parse_checklist(first))

    assert second == first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates)
def test_generated_templates_survive_a_round_trip(template):
    again = _round_trip(template)

    assert structure(again) == structure(template)


def test_a_wide_step_number_keeps_its_indented_notes():
    step = ParsedStep(
        number=12,
        title="Switch",
        minutes=5,
        notes="Before:\n  keep this indent",
        items=[ParsedItem(title="Flip")],
    )
    template = ParsedTemplate(name="R", phases=[ParsedPhase(title="Go", entries=[step])])

    assert structure(_round_trip(template)) == structure(template)


# --- Through the database -----------------------------------------------------------------

_FIXED = [
    ParsedTemplate(
        name="Only items",
        phases=[ParsedPhase(title="Go", entries=[ParsedItem(title="Ship")])],
    ),
    ParsedTemplate(
        name="Everything",
        description="Release of the billing service.",
        phases=[
            ParsedPhase(
                title="Before",
                timing_label="1 day before",
                notes="Read the runbook.",
                entries=[ParsedItem(title="Announce", summary="in the channel", required=False)],
                sections=[
                    ParsedSection(
                        title="Data",
                        timing_label="2 hours before",
                        entries=[
                            ParsedItem(
                                title="Back up",
                                details="- full dump\n- verify it",
                                subchecks=[ParsedSubCheck("Primary"), ParsedSubCheck("Replica")],
                            ),
                            ParsedStep(
                                number=1,
                                title="Freeze",
                                minutes=10,
                                notes="Tell support first.",
                                items=[ParsedItem(title="Stop writes")],
                            ),
                            ParsedItem(title="Check the freeze"),
                        ],
                    ),
                ],
            ),
            ParsedPhase(
                title="Rollback",
                sections=[
                    ParsedSection(
                        title="Steps",
                        entries=[
                            ParsedStep(
                                number=1,
                                title="Decide",
                                minutes=2,
                                items=[ParsedItem(title="Call it")],
                            ),
                            ParsedStep(
                                number=2,
                                title="Revert",
                                minutes=None,
                                items=[ParsedItem(title="Redeploy"), ParsedItem(title="Verify")],
                            ),
                        ],
                    )
                ],
            ),
        ],
        notes=[
            ParsedNote("Quick reference", "**Time required**: 2 hours", before_phases=True),
            ParsedNote("Final notes", "- Stay calm\n- Roll back early"),
        ],
        signoff_roles=["Engineering Manager", "QA Lead"],
        contacts=[
            ParsedContact("Release lead", "Ana", "+44 20 7946 0000", "@ana"),
            ParsedContact("DBA"),
            ParsedContact("Network", "[Name]", "[Phone]", "@name"),
        ],
        signals=[
            ParsedSignal("Error rate", "%", "number", "above", 0.5, True, 1.0, False, 5),
            ParsedSignal("Free disk", "GB", "number", "below", 20.0, True, 5.0, False),
            ParsedSignal("Data loss", "yes/no", "boolean", "above", None, True, 1.0, True),
        ],
        # Read back from the "Quick reference" note's text on import.
        metadata={"time_required": "2 hours"},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("original", _FIXED, ids=[t.name for t in _FIXED])
def test_fixed_templates_survive_the_database_and_a_round_trip(original):
    revision = save_template(original)

    loaded = load_parsed(revision)
    again = parse_checklist(export_markdown(loaded))

    assert structure(loaded) == structure(original)
    assert structure(again) == structure(original)
    # Stored, not worked out again: a contact with only a role has nothing to reach.
    expected = {"Only items": [], "Everything": [True, False, False]}[original.name]
    assert [c.filled_in for c in revision.contacts.order_by("position")] == expected


@pytest.mark.django_db
def test_the_seed_survives_the_database_and_a_round_trip(seed_parsed):
    revision = save_template(seed_parsed)

    again = parse_checklist(export_markdown(load_parsed(revision)))

    assert structure(again) == structure(seed_parsed)
