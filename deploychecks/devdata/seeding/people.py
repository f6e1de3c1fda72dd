"""The seeded staff: leads, engineers, approvers, viewers, a manager and an admin."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DEFAULT_DB_ALIAS

from deploychecks.accounts.groups import ADMINS, ENGINEERS, MANAGERS
from deploychecks.devdata.seeding import words


@dataclass(frozen=True)
class Person:
    pk: int
    username: str
    name: str
    email: str


@dataclass
class People:
    leads: list
    engineers: list
    approvers: list
    viewers: list
    manager: Person
    admin: Person


def ensure_people(using=DEFAULT_DB_ALIAS) -> People:
    """The seeded staff (created once, with unusable passwords)."""
    User = get_user_model()

    def person(username, first, last):
        user, created = User.objects.db_manager(using).get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user, Person(
            user.pk,
            user.get_username(),
            (user.get_full_name() or user.get_username())[:150],
            user.email,
        )

    def join(user, group):
        # Only to accounts the seeder made (unusable passwords): an existing account
        # that happens to have one of these usernames gains no group.
        if not user.has_usable_password():
            user.groups.add(Group.objects.db_manager(using).get_or_create(name=group)[0])

    def people(rows, group=None):
        made = []
        for row in rows:
            user, seeded = person(*row)
            if group is not None:
                join(user, group)
            made.append(seeded)
        return made

    manager_user, manager = person(*words.MANAGER)
    admin_user, admin = person(*words.ADMIN)
    join(manager_user, MANAGERS)
    join(admin_user, ADMINS)
    return People(
        # Leads and engineers start deployments; approvers and viewers may not.
        people(words.LEADS, ENGINEERS),
        people(words.ENGINEERS, ENGINEERS),
        people(words.APPROVERS),
        people(words.VIEWERS),
        manager,
        admin,
    )
