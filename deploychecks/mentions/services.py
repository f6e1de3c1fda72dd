"""Telling the people a note @mentions: once each, through the reminder channels."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.errors import MentionRefused
from deploychecks.mentions.models import Mention
from deploychecks.mentions.parsing import mentioned_names
from deploychecks.reminders.dispatch import release_now, send_page_at_once
from deploychecks.reminders.models import Reminder
from deploychecks.runs.models import Participant


def participants_by_name(deployment) -> dict:
    """The people who can be mentioned on `deployment` (its lead and its
    participants, active accounts), by their username case-folded."""
    User = get_user_model()
    ids = set(Participant.objects.filter(deployment=deployment).values_list("user_id", flat=True))
    if deployment.lead_id:
        ids.add(deployment.lead_id)
    return {u.username.casefold(): u for u in User.objects.filter(pk__in=ids, is_active=True)}


def refusal(names: list[str]) -> MentionRefused:
    named = ", ".join(f"@{n}" for n in names)
    who = "is not one of them" if len(names) == 1 else "are not among them"
    return MentionRefused(
        f"Only the people on this deployment can be mentioned, and {named} {who}. "
        "The note was not saved: it is still in the form, so remove the @ or ask the "
        "lead to add them to the deployment.",
        names,
    )


def notify_mentioned(*, deployment, item, note, actor, previous_body: str = "", request=None):
    """Check the @names of `note` and tell each new one, once.

    Called inside the note's transaction with the deployment locked; raising
    MentionRefused rolls the note back. An edit is only refused for names it
    adds (someone who left the deployment since does not block fixing a typo).
    Nobody is told twice about one note (Mention is unique per note and person),
    and the author is not told about their own note.
    """
    names = mentioned_names(note.body)
    if not names:
        return []
    people = participants_by_name(deployment)
    before = {n.casefold() for n in mentioned_names(previous_body)}
    refused = [n for n in names if n.casefold() not in people and n.casefold() not in before]
    if refused:
        raise refusal(refused)
    told = []
    now = timezone.now()
    author = display_name(actor) if actor is not None else note.author_name
    for name in names:
        user = people.get(name.casefold())
        if user is None or (actor is not None and user.pk == actor.pk):
            continue
        mention, created = Mention.objects.get_or_create(note=note, user=user)
        if not created:
            continue
        reminder = release_now(
            deployment,
            title=f"{author} mentioned @{user.username} on “{item.title}”",
            due_at=now,
            item_ids=[item.pk],
            emails=[user.email],
            now=now,
            kind=Reminder.Kind.MENTION,
        )
        # The page's toast goes to this person only (reminders.live).
        reminder.notify = [f"{Reminder.PERSON_PREFIX}{user.pk}"]
        reminder.save(update_fields=["notify"])
        send_page_at_once(reminder, now=now)
        mention.reminder = reminder
        mention.save(update_fields=["reminder"])
        record_event(
            action="mention.notified",
            actor=actor,
            deployment=deployment,
            target=item,
            after={"note_id": note.pk, "user": user.username, "reminder_id": reminder.pk},
            request=request,
        )
        told.append(user)
    return told
