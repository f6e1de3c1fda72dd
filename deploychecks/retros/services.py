"""Every change of a retrospective: open it, write its sections, add and close
follow-ups, publish it.

The runs recipe: lock the deployment, check the role, write, audit under the
deployment's next sequence number, and tell open pages after commit.
The lead and the engineers write the sections and the follow-ups and mark
follow-ups done; a follow-up's owner (a viewer or an approver, say) may mark
their own done too; the lead or a manager publishes. Publishing freezes the sections
and the list of follow-ups and copies the record's metrics into the retro;
follow-ups can still be marked done afterwards (that is what they are for).
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.checklists.models import TemplateNote
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.retros.hooks import metrics_of
from deploychecks.retros.models import DEFAULT_SECTIONS, FollowUp, RetroSection, Retrospective
from deploychecks.runs import access
from deploychecks.runs.changes import resync_on_commit
from deploychecks.runs.models import Deployment, Participant

OPENS_ON = (Deployment.Status.COMPLETED, Deployment.Status.ROLLED_BACK)
WRITERS = ("lead", "engineer")
PUBLISHERS = ("lead", "manager")
BODY_MAX = 10000
TITLE_MAX = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_links = URLValidator(schemes=["http", "https"])
# A template declares its retro sections under a heading "Retrospective" (kept as a
# note of the template, so the template export writes it back): one bullet a section.
SECTIONS_NOTE = "retrospective"
SECTIONS_MAX = 12
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+(.+)$")


def may_write(role: str | None) -> bool:
    return role in WRITERS


def may_close(role: str | None, follow_up: FollowUp, user) -> bool:
    """Mark done or reopen: the writers, and the follow-up's owner for their own."""
    return may_write(role) or (user.is_authenticated and follow_up.owner_id == user.pk)


def may_publish(role: str | None) -> bool:
    return role in PUBLISHERS


def _text(value: str, *, limit: int, what: str, multiline: bool = True) -> str:
    value = (value or "").replace("\r\n", "\n")
    if not multiline:
        value = " ".join(value.split())
    value = _CONTROL.sub("", value).strip()
    if len(value) > limit:
        raise RunError(f"The {what} is too long (at most {limit} characters).")
    return value


# --- Opening ------------------------------------------------------------------------------


def open_on_finish(change) -> None:
    """runs.hooks.status_changed: completed or rolled back → the retro opens (once)."""
    if change.to not in OPENS_ON:
        return
    open_retro(change.deployment, outcome=change.to, actor=change.actor, request=change.request)


def template_sections(deployment) -> list[str]:
    """The sections the deployment's template declares, else the defaults.

    In the Markdown, a heading "Retrospective" with a list, one item a section:

        ## Retrospective

        - Timeline
        - Customer impact
        - Follow-ups

    Top-level list lines only (indented lines continue an item); emphasis markers
    and a checkbox are dropped; at most SECTIONS_MAX, each once.
    """
    notes = TemplateNote.objects.filter(revision_id=deployment.revision_id).order_by("position")
    for note in notes:
        if note.title.strip().lower() != SECTIONS_NOTE:
            continue
        titles: list[str] = []
        for line in note.body.splitlines():
            match = _BULLET.match(line)
            if not match:
                continue
            title = re.sub(r"^\[[ xX]\]\s*", "", match.group(1))
            title = _text(title.replace("**", "").replace("__", ""), limit=10**6, what="title")
            title = " ".join(title.split())[:200]
            if title and title not in titles:
                titles.append(title)
        if titles:
            return titles[:SECTIONS_MAX]
    return list(DEFAULT_SECTIONS)


def open_retro(deployment, *, outcome: str, actor=None, request=None) -> Retrospective | None:
    """Open the retrospective with the template's sections (`template_sections`),
    inside the caller's transaction (the deployment row locked). Returns None if it
    was open already."""
    if Retrospective.objects.filter(deployment=deployment).exists():
        return None
    now = timezone.now()
    titles = template_sections(deployment)
    retro = Retrospective.objects.create(deployment=deployment, outcome=outcome, opened_at=now)
    RetroSection.objects.bulk_create(
        RetroSection(retro=retro, position=n, title=title) for n, title in enumerate(titles)
    )
    record_event(
        action="retro.opened",
        actor=actor,
        deployment=deployment,
        seq=deployment.next_seq(),
        target=retro,
        target_repr=f"retrospective of {deployment}",
        after={"outcome": outcome, "sections": titles},
        request=request,
    )
    return retro


# --- Changes ------------------------------------------------------------------------------


def _locked(user, deployment_id: int, *, publish: bool = False, write: bool = True):
    """The deployment and its retro, locked; the role checked for publishing or, with
    `write`, for writing (else the caller checks it)."""
    deployment, role = access.lock(user, deployment_id)
    retro = Retrospective.objects.select_for_update().filter(deployment=deployment).first()
    if retro is None:
        raise NoAccess(
            "This deployment has no retrospective: it opens when it completes or is rolled back."
        )
    if publish:
        if not may_publish(role):
            raise NotAllowed(
                "Only the lead of this deployment or a manager publishes its retrospective."
            )
    elif write and not may_write(role):
        raise NotAllowed("Only the lead and engineers of this deployment write its retrospective.")
    return deployment, role, retro


def _audit(
    deployment, user, request, action, target, target_repr, *, before=None, after=None, resync=False
):
    """Audit under the next sequence number and tell open run pages after commit: a
    resync only when the run page shows the change (its retro link's state), else
    just the sequence number, so the pages' sequence stays whole."""
    seq = deployment.next_seq()
    record_event(
        action=action,
        actor=user,
        deployment=deployment,
        seq=seq,
        target=target,
        target_repr=target_repr,
        before=before,
        after=after,
        request=request,
    )
    resync_on_commit(deployment.pk, seq, "retro", resync=resync)


@transaction.atomic
def save_section(*, deployment_id: int, user, section_id, body: str, request=None) -> RetroSection:
    deployment, _role, retro = _locked(user, deployment_id)
    if retro.is_published:
        raise RunError("The retrospective is published: its sections cannot change any more.")
    section = RetroSection.objects.filter(retro=retro, pk=_int(section_id)).first()
    if section is None:
        raise NoAccess("No such section in this retrospective.")
    body = _text(body, limit=BODY_MAX, what="text")
    if body == section.body:
        return section
    before = section.body
    section.body = body
    section.updated_by_name = display_name(user)
    section.updated_at = timezone.now()
    section.save(update_fields=["body", "updated_by_name", "updated_at"])
    _audit(
        deployment,
        user,
        request,
        "retro.section_edited",
        section,
        f"retrospective section “{section.title}”",
        before={"body": before},
        after={"body": body},
    )
    return section


def owner_choices(deployment) -> list:
    """Who can own a follow-up: the lead and the participants."""
    people = {}
    if deployment.lead_id:
        people[deployment.lead_id] = deployment.lead
    for p in Participant.objects.filter(deployment=deployment).select_related("user"):
        people.setdefault(p.user_id, p.user)
    return sorted(people.values(), key=lambda u: display_name(u).lower())


@transaction.atomic
def add_follow_up(
    *, deployment_id: int, user, title: str, owner_id, due_date: str, link: str = "", request=None
) -> FollowUp:
    deployment, _role, retro = _locked(user, deployment_id)
    if retro.is_published:
        raise RunError("The retrospective is published: no follow-up can be added any more.")
    title = _text(title, limit=TITLE_MAX, what="title", multiline=False)
    if not title:
        raise RunError("Say what has to be done: the follow-up needs a title.")
    owner = next((u for u in owner_choices(deployment) if u.pk == _int(owner_id)), None)
    if owner is None:
        raise RunError("Choose an owner among the lead and the participants.")
    try:
        due = datetime.date.fromisoformat((due_date or "").strip())
    except ValueError:
        raise RunError("Give the due date as YYYY-MM-DD.") from None
    link = (link or "").strip()
    if link:
        if len(link) > 500:
            raise RunError("The link is too long (at most 500 characters).")
        try:
            _links(link)
        except ValidationError:
            raise RunError("The link must be an http:// or https:// URL.") from None
    follow_up = FollowUp.objects.create(
        retro=retro,
        deployment=deployment,
        title=title,
        owner=owner,
        owner_name=display_name(owner),
        due_date=due,
        link=link,
        created_at=timezone.now(),
        created_by_name=display_name(user),
    )
    _audit(
        deployment,
        user,
        request,
        "retro.follow_up_added",
        follow_up,
        f"follow-up “{title}”",
        after={
            "title": title,
            "owner": follow_up.owner_name,
            "due_date": due.isoformat(),
            "link": link,
        },
    )
    return follow_up


@transaction.atomic
def set_follow_up_done(
    *, deployment_id: int, user, follow_up_id, done: bool, request=None
) -> FollowUp:
    deployment, role, retro = _locked(user, deployment_id, write=False)
    follow_up = FollowUp.objects.filter(retro=retro, pk=_int(follow_up_id)).first()
    if follow_up is None:
        raise NoAccess("No such follow-up in this retrospective.")
    if not may_close(role, follow_up, user):
        raise NotAllowed("Only the lead, the engineers and its owner mark a follow-up done.")
    if follow_up.is_done == done:
        return follow_up
    follow_up.done_at = timezone.now() if done else None
    follow_up.done_by_name = display_name(user) if done else ""
    follow_up.save(update_fields=["done_at", "done_by_name"])
    _audit(
        deployment,
        user,
        request,
        "retro.follow_up_done" if done else "retro.follow_up_reopened",
        follow_up,
        f"follow-up “{follow_up.title}”",
        before={"done": not done},
        after={"done": done},
    )
    return follow_up


@transaction.atomic
def publish(*, deployment_id: int, user, request=None) -> Retrospective:
    deployment, _role, retro = _locked(user, deployment_id, publish=True)
    if retro.is_published:
        raise RunError("The retrospective is published already.")
    retro.metrics = metrics_of(deployment)
    retro.status = Retrospective.Status.PUBLISHED
    retro.published_at = timezone.now()
    retro.published_by = user
    retro.published_by_name = display_name(user)
    retro.save(
        update_fields=["metrics", "status", "published_at", "published_by", "published_by_name"]
    )
    _audit(
        deployment,
        user,
        request,
        "retro.published",
        retro,
        f"retrospective of {deployment}",
        after={
            "sections": {s.title: s.body for s in retro.sections.all()},
            "follow_ups": list(retro.follow_ups.values_list("title", flat=True)),
        },
        resync=True,
    )
    return retro


def _int(value) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
