"""What the run page shows of go/no-go and rollback: one context, one template.

`page_context` feeds runs.views._page_context (the page and its resync);
`render_panel` renders the signals panel alone for live broadcasts. Both use
templates/gonogo/panel.html, so a live update equals what a reload shows.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone

from deploychecks.gonogo import grading, rollback
from deploychecks.gonogo import series as signal_series
from deploychecks.gonogo.models import DeploymentSignal, Reading
from deploychecks.runs import access
from deploychecks.runs.models import Deployment

PANEL = "gonogo/panel.html"


@dataclass
class SignalRow:
    signal: DeploymentSignal
    grade: str
    last: Reading | None
    last_text: str
    points: str
    green: str
    yellow: str
    red: str


def signal_rows(deployment: Deployment, series=None) -> list[SignalRow]:
    series = series if series is not None else signal_series.load_series(deployment)
    rows = []
    for signal, readings in series:
        t = signal.thresholds
        last = readings[-1] if readings else None  # oldest first: the last decides
        recent = [r.value for r in readings[-signal_series.SPARKLINE_POINTS :]]
        rows.append(
            SignalRow(
                signal=signal,
                grade=str(grading.grade(last.value, t)) if last else "",
                last=last,
                last_text=signal_series.format_value(signal, last.value if last else None),
                points=grading.sparkline_points(recent) if len(recent) > 1 else "",
                green="—" if signal.is_boolean and t.yellow is None else grading.describe_green(t),
                yellow=grading.describe_bound(t, "yellow"),
                red=("yes" if signal.is_boolean else grading.describe_bound(t, "red")),
            )
        )
    return rows


def panel_context(deployment: Deployment, *, editable: bool, now=None) -> dict:
    now = now or timezone.now()
    series = signal_series.load_series(deployment)
    episode = rollback.active_episode(deployment)
    can_start = editable and episode is None and deployment.status in ("in_progress", "monitoring")
    budget = None
    if can_start:
        phase = rollback.rollback_phase(deployment)
        budget = rollback.procedure_budget(deployment, phase) if phase else None
    return {
        "deployment": deployment,
        "gonogo_rows": signal_rows(deployment, series),
        "verdict": signal_series.current_verdict(deployment, now, series),
        "gonogo_editable": editable and not deployment.is_finished,
        "can_start_rollback": can_start,
        "rollback_budget": f"{budget}-minute" if budget else "",
        "rollback_episode": episode,
        "now": now,
    }


def page_context(
    deployment: Deployment, role: str | None, phases, *, signals: dict | None = None
) -> dict:
    """Everything the run page needs, and the phases rearranged for rollback mode.

    `signals` is this deployment's `panel_context` if the caller already has it.
    """
    now = timezone.now()
    editable = access.can_edit(role)
    context = signals or panel_context(deployment, editable=editable, now=now)
    episode = context["rollback_episode"]
    view = None
    if episode is not None:
        phase = next((p for p in phases if p.is_rollback), None)
        if phase is not None:
            view = rollback.build_view(deployment, episode, now=now, phase=phase)
    active = view is not None and episode.is_active and not deployment.is_finished
    context.update(
        {
            "rollback": view,
            "rollback_mode": active,
            "phases": rollback.arrange_phases(phases, view if active else None),
            "is_lead": role == "lead",
        }
    )
    if active:
        context["current"] = view.phase
    return context


def render_panel(deployment: Deployment, *, editable: bool) -> str:
    context = panel_context(deployment, editable=editable)
    return render_to_string(f"{PANEL}#signals", context)
