"""What happens to each seeded deployment, and when: outcomes, services, versions, dates."""

import random
from dataclasses import dataclass
from datetime import timedelta

from deploychecks.devdata.seeding import words

DAY = timedelta(days=1)


@dataclass
class Plan:
    outcome: str  # the status the story is written towards
    variant: str
    service: str
    environment: str
    planned_start: object
    created_at: object = None
    version: str = ""
    previous_version: str = ""
    release_name: str = ""


def make_plans(count: int, rng: random.Random, now, days: int) -> list[Plan]:
    """Every deployment's outcome, service, version and dates, in order of creation."""
    current = (
        []
        if count < 6
        else ["planned"] * (1 + count // 2000)
        + ["in_progress"] * (1 + count // 5000)
        + ["monitoring"] * (1 + count // 2000)
    )
    finished = count - len(current)
    rolled_back = max(1, round(finished * 0.08)) if finished >= 3 else 0
    aborted = max(1, round(finished * 0.05)) if finished >= 3 else 0
    outcomes = (
        ["rolled_back"] * rolled_back
        + ["aborted"] * aborted
        + ["completed"] * (finished - rolled_back - aborted)
    )
    rng.shuffle(outcomes)
    first, last = now - days * DAY, now - 6 * DAY
    spacing = (last - first) / max(finished, 1)
    plans = []
    for k, outcome in enumerate(outcomes):
        start = first + spacing * (k + rng.uniform(0.1, 0.9))
        plans.append(Plan(outcome, _variant(outcome, rng), *_service(rng), start))
    for outcome in current:
        if outcome == "planned":
            start = now + timedelta(hours=rng.uniform(6, 72))
        elif outcome == "in_progress":
            start = now - timedelta(minutes=rng.uniform(40, 110))
        else:
            start = now - timedelta(hours=rng.uniform(5, 60))
        plans.append(Plan(outcome, "full", *_service(rng), start))
    for plan in plans:
        created = plan.planned_start - timedelta(hours=rng.uniform(50, 96))
        plan.created_at = min(created, now - timedelta(hours=rng.uniform(1, 20)))
    plans.sort(key=lambda p: p.created_at)
    _name_releases(plans, rng)
    return plans


def _variant(outcome: str, rng) -> str:
    if outcome == "completed":
        return "early" if rng.random() < 0.5 else "full"
    if outcome == "rolled_back":
        return "deploying" if rng.random() < 0.3 else "monitoring"
    return "before_start" if rng.random() < 0.5 else "during"


SERVICE_WEIGHTS = [6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 1, 4]


def _service(rng) -> tuple[str, str]:
    service = rng.choices(words.SERVICES, SERVICE_WEIGHTS[: len(words.SERVICES)])[0]
    return service, "staging" if rng.random() < 0.15 else "production"


def _name_releases(plans: list[Plan], rng) -> None:
    """Versions go up per service; a rolled-back or aborted release leaves the live one."""
    highest, live, staging, rc = {}, {}, {}, {}
    for plan in plans:
        current = highest.setdefault(plan.service, (rng.randint(1, 4), rng.randint(0, 20), 0))
        hotfix = rng.random() < 0.2
        if hotfix:
            following = (current[0], current[1], current[2] + 1)
        elif rng.random() < 0.03:
            following = (current[0] + 1, 0, 0)
        else:
            following = (current[0], current[1] + 1, 0)
        number = ".".join(map(str, following))
        if plan.environment == "staging":
            rc[number] = rc.get(number, 0) + 1
            plan.version = f"{number}-rc.{rc[number]}"
            plan.previous_version = staging.get(plan.service, "")
            staging[plan.service] = plan.version
        else:
            plan.version = number
            plan.previous_version = live.get(plan.service, ".".join(map(str, current)))
            highest[plan.service] = following
            if plan.outcome not in ("rolled_back", "aborted"):
                live[plan.service] = number
        theme = rng.choice(words.HOTFIX_THEMES if hotfix else words.RELEASE_THEMES)
        start = plan.planned_start
        plan.release_name = theme.format(q=(start.month - 1) // 3 + 1, year=start.year)
