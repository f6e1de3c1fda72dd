"""Every change of status updates: post one, follow and unfollow a deployment.

Posting follows the runs recipe: lock the deployment, check the role, write,
audit under the deployment's next sequence number, and tell open run pages
after commit (a resync: each viewer's page re-renders the panel with what that
viewer may do). The features above (the public status page, webhooks) hear of
it through `events.update_posted`; followers get an email after commit.
"""

import re

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.runs import access
from deploychecks.runs.changes import resync_on_commit
from deploychecks.statusupdates.events import UpdatePosted, update_posted
from deploychecks.statusupdates.models import Follower, StatusUpdate

BODY_MAX = 4000
# Control characters other than newline and tab are dropped, as on the status page.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_body(body: str) -> str:
    body = _CONTROL.sub("", (body or "").replace("\r\n", "\n")).strip()
    if not body:
        raise RunError("Write the update first: it cannot be empty.")
    if len(body) > BODY_MAX:
        raise RunError(f"The update is too long (at most {BODY_MAX} characters).")
    return body


@transaction.atomic
def post_update(
    *, deployment_id: int, user, body: str, rag: str = "", public: bool = False, request=None
) -> StatusUpdate:
    """The lead posts a status update (Markdown, an optional red/amber/green)."""
    deployment, role = access.lock(user, deployment_id)
    # Permission first: someone who may not post learns nothing from their input.
    if role != "lead":
        raise NotAllowed("Only the lead of this deployment posts status updates.")
    body = clean_body(body)
    if rag not in StatusUpdate.Rag.values:
        raise RunError("Choose red, amber, green or no colour.")
    seq = deployment.next_seq()
    update = StatusUpdate.objects.create(
        deployment=deployment,
        author=user,
        author_name=display_name(user),
        body=body,
        rag=rag,
        public=public,
    )
    record_event(
        action="status_update.posted",
        actor=user,
        deployment=deployment,
        seq=seq,
        target=update,
        target_repr=f"status update {update.pk}",
        after={"body": body, "rag": rag, "public": public},
        request=request,
    )
    resync_on_commit(deployment.pk, seq, "status_update")
    update_posted.send(
        UpdatePosted(deployment=deployment, actor=user, request=request, update=update)
    )
    _email_followers_on_commit(deployment, update)
    return update


def recipients(deployment, *, author_id: int | None) -> list[str]:
    """The followers who still have access to the deployment and have an email
    address, except the author. Participants are not added by default: they
    see the update on the run page, and follow to get it by email."""
    emails = []
    for follower in Follower.objects.filter(deployment=deployment).select_related("user"):
        user = follower.user
        if user.pk == author_id or not user.is_active or not user.email:
            continue
        # A follower taken off the team (or no longer a manager) hears nothing more.
        if access.role_of(user, deployment):
            emails.append(user.email)
    return sorted(set(emails))


def _email_followers_on_commit(deployment, update: StatusUpdate) -> None:
    to = recipients(deployment, author_id=update.author_id)
    if not to:
        return
    colour = f"[{update.rag_word}] " if update.rag else ""
    subject = f"{colour}Status update: {deployment.service} {deployment.version}"
    url = settings.SITE_URL.rstrip("/") + reverse("runs:detail", args=[deployment.pk])
    body = (
        f"{update.author_name} posted a status update"
        f"{' (' + update.get_rag_display() + ')' if update.rag else ''}:\n\n"
        f"{update.body}\n\n{url}\n\n"
        "You get this because you follow this deployment; unfollow on its page.\n"
    )

    def send():
        # One message per follower: nobody learns who else follows.
        for address in to:
            send_mail(subject, body, None, [address])

    transaction.on_commit(send, robust=True)


def is_following(deployment, user) -> bool:
    return Follower.objects.filter(deployment=deployment, user=user).exists()


@transaction.atomic
def set_following(*, deployment_id: int, user, follow: bool, request=None) -> bool:
    """Anyone who may read the deployment follows or unfollows it; True if it changed."""
    deployment, _role = access.lock(user, deployment_id)
    if follow:
        try:
            with transaction.atomic():
                Follower.objects.create(deployment=deployment, user=user)
        except IntegrityError:
            return False
    elif not Follower.objects.filter(deployment=deployment, user=user).delete()[0]:
        return False
    record_event(
        action="status_update.followed" if follow else "status_update.unfollowed",
        actor=user,
        deployment=deployment,
        target_repr=f"followers of {deployment}",
        request=request,
    )
    return True
