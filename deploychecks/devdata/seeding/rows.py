"""Writing a seeded deployment's rows, as its story left them (see story.py)."""

from deploychecks.gonogo.models import (
    DeploymentSignal,
    IngestToken,
    Reading,
    RollbackEpisode,
    VerdictState,
)
from deploychecks.reminders.models import Reminder, ReminderDelivery
from deploychecks.runs.models import (
    Deployment,
    DeploymentContact,
    DeploymentRole,
    GateOverride,
    ItemNote,
    Participant,
    RunItem,
    RunPhase,
    RunSection,
    RunStep,
    RunSubCheck,
)
from deploychecks.signoffs.models import ApproverAssignment, SignOff


def write_story(st) -> None:
    """Queue every row of this deployment, as it stands at the end of the story."""
    add, p, s = st.ctx.rows.add, st.plan, st.shape
    add(
        Deployment,
        id=st.id,
        revision_id=s.revision_id,
        template_name=s.template_name,
        release_name=p.release_name,
        version=p.version,
        previous_version=p.previous_version,
        service=p.service,
        environment=p.environment,
        planned_start=p.planned_start,
        lead_id=st.lead.pk,
        status=st.status,
        created_at=p.created_at,
        created_by_id=st.lead.pk,
        started_at=st.started_at,
        go_live_at=st.go_live_at,
        ended_at=st.ended_at,
        seq=st.seq,
        monitoring_hours=s.monitoring_hours,
    )
    if st.override:
        o = st.override
        add(
            GateOverride,
            id=o["id"],
            deployment_id=st.id,
            to_status="completed",
            by_id=o["by"].pk,
            by_name=o["by"].name,
            reason=o["reason"],
            conditions=o["conditions"],
            created_at=o["at"],
        )
    _people(st)
    _checklist(st)
    _signals(st)
    for signoff in st.signoffs:
        add(
            SignOff,
            id=signoff["id"],
            deployment_id=st.id,
            role_id=st.role_ids[signoff["role"]],
            signer_id=signoff["signer"].pk,
            signer_name=signoff["signer"].name,
            deployment_lead_id=st.lead.pk,
            decision=signoff["decision"],
            comment=signoff["comment"],
            checklist_hash=signoff["checklist_hash"],
            checklist_seq=signoff["checklist_seq"],
            checklist_snapshot=signoff["checklist_snapshot"],
            created_at=signoff["created_at"],
            status=signoff["status"],
            stale_reason=signoff["stale_reason"],
            invalidated_at=signoff["invalidated_at"],
        )
    _reminders(st)
    if st.episode:
        e = st.episode
        add(
            RollbackEpisode,
            id=e["id"],
            deployment_id=st.id,
            reason=e["reason"],
            started_at=e["started_at"],
            started_by_id=e["by"].pk,
            started_by_name=e["by"].name,
            budget_minutes=e["budget"],
            decide_seconds=e["decide"],
            completed_at=e["completed_at"],
        )


def _people(st) -> None:
    add = st.ctx.rows.add
    participants = {}
    for user in st.engineers:
        participants[user.pk] = add(
            Participant, deployment_id=st.id, user_id=user.pk, role="engineer"
        )
    for pair in st.approvers:
        for user in pair:
            if user.pk not in participants:
                participants[user.pk] = add(
                    Participant, deployment_id=st.id, user_id=user.pk, role="approver"
                )
    for user in st.viewers:
        participants[user.pk] = add(
            Participant, deployment_id=st.id, user_id=user.pk, role="viewer"
        )
    for role, pair in enumerate(st.approvers):
        for backup, user in enumerate(pair):
            add(
                ApproverAssignment,
                deployment_id=st.id,
                role_id=st.role_ids[role],
                user_id=user.pk,
                participant_id=participants[user.pk],
                is_backup=bool(backup),
            )
    for position, name in enumerate(st.shape.roles, start=1):
        add(
            DeploymentRole,
            id=st.role_ids[position - 1],
            deployment_id=st.id,
            position=position,
            name=name,
        )
    for position, contact in enumerate(st.contacts, start=1):
        add(DeploymentContact, deployment_id=st.id, position=position, **contact)


def _checklist(st) -> None:
    add, s = st.ctx.rows.add, st.shape
    for k, phase in enumerate(s.phases):
        add(
            RunPhase,
            id=st.phase_ids[k],
            deployment_id=st.id,
            position=phase.position,
            title=phase.title,
            timing_label=phase.timing_label,
            notes=phase.notes,
            stage=phase.stage,
        )
    for k, section in enumerate(s.sections):
        add(
            RunSection,
            id=st.section_ids[k],
            phase_id=st.phase_ids[section.phase],
            position=section.position,
            title=section.title,
            timing_label=section.timing_label,
            notes=section.notes,
        )
    for k, step in enumerate(s.steps):
        add(
            RunStep,
            id=st.step_ids[k],
            phase_id=st.phase_ids[step.phase],
            section_id=None if step.section is None else st.section_ids[step.section],
            position=step.position,
            number=step.number,
            title=step.title,
            minutes=step.minutes,
            notes=step.notes,
        )
    for i, item in enumerate(s.items):
        user, when = st.changed[i] or (None, None)
        add(
            RunItem,
            id=st.item_ids[i],
            deployment_id=st.id,
            phase_id=st.phase_ids[item.phase],
            section_id=None if item.section is None else st.section_ids[item.section],
            step_id=None if item.step is None else st.step_ids[item.step],
            position=item.position,
            title=item.title,
            summary=item.summary,
            details=item.details,
            required=item.required,
            key=item.key,
            state=st.state[i],
            na_reason=st.na_reason[i],
            version=st.version[i],
            changed_by_id=user.pk if user else None,
            changed_by_name=user.name if user else "",
            changed_at=when,
        )
        for j, title in enumerate(item.subchecks):
            user, when = st.sub_changed[i][j] or (None, None)
            add(
                RunSubCheck,
                id=st.sub_ids[i][j],
                item_id=st.item_ids[i],
                position=j + 1,
                title=title,
                done=st.sub_done[i][j],
                version=st.sub_version[i][j],
                changed_by_id=user.pk if user else None,
                changed_by_name=user.name if user else "",
                changed_at=when,
            )
    for note in st.notes:
        add(ItemNote, **note)


def _signals(st) -> None:
    add = st.ctx.rows.add
    for k, signal in enumerate(st.shape.signals):
        add(
            DeploymentSignal,
            id=st.signal_ids[k],
            deployment_id=st.id,
            grade=st.grades[k],
            **signal.threshold_fields(),
        )
    if st.token:
        add(IngestToken, deployment_id=st.id, created_by_id=st.lead.pk, **st.token)
    for index, value, observed, note, user, when in st.readings:
        add(
            Reading,
            signal_id=st.signal_ids[index],
            value=value,
            observed_at=observed,
            note=note,
            source="manual" if user else "ingest",
            recorded_by_id=user.pk if user else None,
            recorded_by_name=user.name if user else f"token {st.token['name']}",
            token_id=None if user else st.token["id"],
            created_at=when,
        )
    if st.verdict:
        add(VerdictState, deployment_id=st.id, **st.verdict)


def _reminders(st) -> None:
    add = st.ctx.rows.add
    for r in st.reminders:
        user, when, note = r["ack"] or (None, None, "")
        add(
            Reminder,
            id=r["id"],
            deployment_id=st.id,
            rule_id=r["rule"].id,
            title=r["rule"].title,
            offset_minutes=r["offset"],
            due_at=r["due_at"],
            status=r["status"],
            sent_at=r["sent_at"],
            late_by=r["late_by"],
            item_ids=[st.item_ids[i] for i in r["rule"].items],
            notify=list(r["rule"].notify),
            acknowledged_by_id=user.pk if user else None,
            acknowledged_by_name=user.name if user else "",
            acknowledged_at=when,
            acknowledged_note=note,
            escalated_at=r["escalated_at"],
            escalated_to=r["escalated_to"],
        )
        for d in r["deliveries"]:
            add(ReminderDelivery, reminder_id=r["id"], **d)
