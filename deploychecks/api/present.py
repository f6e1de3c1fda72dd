"""Deployments, items and the gate as the API shows them (plain dicts that the
schemas in schemas.py describe)."""

from django.db.models import Prefetch
from django.urls import reverse

from deploychecks.gonogo.series import current_verdict
from deploychecks.runs import hooks
from deploychecks.runs.models import Deployment, ItemNote, RunItem, RunPhase, RunSubCheck
from deploychecks.runs.status import VERBS, gate
from deploychecks.signoffs.state import role_statuses

# The API's names for the gates, and the status each one guards.
GATES = {"go-live": Deployment.Status.MONITORING, "complete": Deployment.Status.COMPLETED}


def summary(deployment: Deployment, request=None) -> dict:
    url = deployment.get_absolute_url()
    return {
        "id": deployment.pk,
        "url": request.build_absolute_uri(url) if request is not None else url,
        "release_name": deployment.release_name,
        "service": deployment.service,
        "environment": deployment.environment,
        "version": deployment.version,
        "previous_version": deployment.previous_version,
        "status": deployment.status,
        "lead": deployment.lead.get_username() if deployment.lead else None,
        "template": deployment.template_name,
        "created_at": deployment.created_at,
        "started_at": deployment.started_at,
        "go_live_at": deployment.go_live_at,
        "ended_at": deployment.ended_at,
    }


def subcheck(sub: RunSubCheck) -> dict:
    return {
        "position": sub.position,
        "title": sub.title,
        "done": sub.done,
        "version": sub.version,
        "changed_by": sub.changed_by_name or None,
        "changed_at": sub.changed_at,
    }


def note(n: ItemNote) -> dict:
    return {
        "kind": n.kind,
        "author": n.author_name,
        "body": n.body,
        "created_at": n.created_at,
        "id": n.pk,
        "reply_to": n.reply_to_id,
        "edited_at": n.edited_at,
        "deleted": n.is_deleted,
    }


def evidence(e) -> dict:
    """One piece of evidence (deploychecks.evidence.models.Evidence)."""
    return {
        "id": e.pk,
        "kind": e.kind,
        "title": e.title,
        "url": e.url
        if e.kind == "link"
        else reverse("evidence:download", args=[e.deployment_id, e.pk]),
        "filename": e.filename,
        "content_type": e.content_type,
        "size": e.size,
        "sha256": e.sha256,
        "added_by": e.added_by_name,
        "created_at": e.created_at,
    }


def item(i: RunItem) -> dict:
    return {
        "id": i.pk,
        "key": i.key,
        "title": i.title,
        "summary": i.summary,
        "required": i.required,
        "section": i.section.title if i.section_id else None,
        "step": i.step.title if i.step_id else None,
        "state": i.state,
        "na_reason": i.na_reason,
        "version": i.version,
        "changed_by": i.changed_by_name or None,
        "changed_at": i.changed_at,
        "changed_via": i.changed_via,
        "owners": i.owners,
        "due": i.due_text,
        "overdue_since": i.overdue_since,
        "subchecks": [subcheck(s) for s in i.subchecks.all()],
        "notes": [note(n) for n in i.notes.all()],
        "evidence_required": i.evidence_required,
        "evidence": [evidence(e) for e in i.evidence.all()],
    }


def items_queryset():
    return RunItem.objects.select_related("section", "step").prefetch_related(
        Prefetch("subchecks", queryset=RunSubCheck.objects.order_by("position")),
        Prefetch("notes", queryset=ItemNote.objects.order_by("created_at", "pk")),
        *hooks.item_rows.send(None),  # the item's evidence
    )


def detail(deployment: Deployment, request=None) -> dict:
    phases = RunPhase.objects.filter(deployment=deployment).prefetch_related(
        Prefetch("items", queryset=items_queryset().order_by("position"))
    )
    verdict = current_verdict(deployment)
    return {
        **summary(deployment, request),
        "seq": deployment.seq,
        "phases": [
            {
                "id": p.pk,
                "title": p.title,
                "timing_label": p.timing_label,
                "stage": p.stage,
                "items": [item(i) for i in p.items.all()],
            }
            for p in phases.order_by("position")
        ],
        "signoffs": [
            {
                "role": status.role.name,
                "needed_before_go_live": status.role.before_go_live,
                "state": status.state,
                "approvers": [
                    person.get_username()
                    for person in (status.primary, *status.backups)
                    if person is not None
                ],
                "signer": status.signoff.signer_name if status.signoff else None,
                "decision": status.signoff.decision if status.signoff else None,
                "signed_at": status.signoff.created_at if status.signoff else None,
            }
            for status in role_statuses(deployment)
        ],
        "verdict": {"level": str(verdict.level), "rule": verdict.rule},
    }


S = Deployment.Status
# A gate a deployment has gone through stays open; one it can no longer reach
# is closed for good ("final"), so a waiting pipeline stops waiting.
PASSED = {"go-live": {S.MONITORING, S.COMPLETED}, "complete": {S.COMPLETED}}


def gate_unmet(deployment: Deployment, target: str) -> tuple[list[hooks.Unmet], bool]:
    """The unmet conditions of the gate `target` ("go-live" or "complete"), as
    the run page's gate panel lists them (runs.status.gate), and whether the
    answer is final."""
    if deployment.status in PASSED[target]:
        return [], True
    if deployment.is_finished:
        label = deployment.get_status_display().lower()
        return [
            hooks.Unmet(
                key=f"status:{deployment.status}",
                kind="status",
                needs="a deployment that is still running; it is",
                label=label,
                anchor="run-header",
                overridable=False,
            )
        ], True
    return gate(deployment, GATES[target]), False


def gate_answer(deployment: Deployment, target: str, found=None, waited: float = 0.0) -> dict:
    """The gate as the API answers it: open, or closed with every unmet condition."""
    unmet, final = found if found is not None else gate_unmet(deployment, target)
    return {
        "deployment": deployment.pk,
        "for": target,
        "status": "closed" if unmet else "open",
        "final": final,
        "deployment_status": deployment.status,
        "message": hooks.describe(VERBS[GATES[target]], unmet) if unmet else "",
        "unmet": [condition.as_dict() for condition in unmet],
        "waited_seconds": round(waited, 3),
    }
