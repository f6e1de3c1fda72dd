"""Lengths the database can hold, checked before saving so the error names the line."""

from __future__ import annotations

from deploychecks.checklists.parser.model import (
    MAX_LENGTHS,
    MAX_STEP_MINUTES,
    ChecklistParseError,
    ParsedTemplate,
)


def _check(what: str, text: str, line: int | None = None) -> None:
    limit = MAX_LENGTHS[what]
    if len(text) > limit:
        raise ChecklistParseError(
            f"the {what} “{text[:40]}…” is {len(text):,} characters long; the limit is {limit}",
            line or None,
        )


def check_lengths(template: ParsedTemplate) -> None:
    for phase in template.phases:
        _check("phase title", phase.title, phase.line)
        _check("timing label", phase.timing_label, phase.line)
        for section in phase.sections:
            _check("section title", section.title, section.line)
            _check("timing label", section.timing_label, section.line)
    for step in template.steps():
        _check("step title", step.title, step.line)
        if step.minutes is not None and step.minutes > MAX_STEP_MINUTES:
            raise ChecklistParseError(
                f"the step budget of {step.minutes:,} minutes is too large", step.line or None
            )
    for item in template.items():
        _check("item title", item.title, item.line)
        _check("item summary", item.summary, item.line)
        for sub in item.subchecks:
            _check("sub-check", sub.title, sub.line)
    for role in template.signoff_roles:
        _check("sign-off role", role)
    for contact in template.contacts:
        _check("contact role", contact.role)
        _check("contact person", contact.person)
        _check("contact phone", contact.phone)
        _check("contact chat handle", contact.handle)
    for note in template.notes:
        _check("note title", note.title)
