"""Who an owner token names on one deployment.

A token is what the Markdown wrote after "@": `lead` (the deployment's lead), a
sign-off role by its slug (`devops-lead` for "DevOps Lead": its primary approver
and backups, as assigned on the deployment), or else a username. A role's slug
wins over a username spelled the same. Tokens compare without regard to case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from django.utils.text import slugify

from deploychecks.checklists.parser.owners import LEAD, MAX_OWNERS, OWNER_MAX
from deploychecks.runs.access import allowed_user_ids
from deploychecks.runs.models import Deployment, DeploymentRole
from deploychecks.signoffs.models import ApproverAssignment

TOKEN_RE = re.compile(r"^[\w.+-]*\w$")
# "@alice @\"DevOps Lead\" bob": one owner per word, a quoted role name as one.
_OWNER_WORD_RE = re.compile(r'@?"(?P<quoted>[^"]+)"|@?(?P<word>[^\s,"]+)')


class OwnerError(ValueError):
    pass


def parse_owner_text(text: str) -> list[str]:
    """Owner tokens typed in a form or sent by the API, validated, in order."""
    tokens: list[str] = []
    for match in _OWNER_WORD_RE.finditer(text or ""):
        quoted = match.group("quoted")
        token = slugify(quoted) if quoted is not None else match.group("word")
        check_token(token)
        if token.casefold() not in (t.casefold() for t in tokens):
            tokens.append(token)
    if len(tokens) > MAX_OWNERS:
        raise OwnerError(f"At most {MAX_OWNERS} owners per item.")
    return tokens


def check_token(token: str) -> str:
    if not token or len(token) > OWNER_MAX or not TOKEN_RE.match(token):
        raise OwnerError(
            f"“@{token[:40]}” is not an owner: use a username, a sign-off role as "
            '@devops-lead or @"DevOps Lead", or @lead.'
        )
    return token


@dataclass
class Directory:
    """A deployment's lead and sign-off roles, and who holds each role."""

    deployment: Deployment
    roles: dict[str, str] = field(default_factory=dict)  # slug → role name
    role_people: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, deployment: Deployment) -> Directory:
        directory = cls(deployment)
        for role in DeploymentRole.objects.filter(deployment=deployment).order_by("position"):
            directory.roles[slugify(role.name)] = role.name
            directory.role_people.setdefault(slugify(role.name), set())
        for name, user_id in ApproverAssignment.objects.filter(deployment=deployment).values_list(
            "role__name", "user_id"
        ):
            directory.role_people.setdefault(slugify(name), set()).add(user_id)
        return directory

    def key(self, token: str) -> str:
        """What a token names, comparably: "lead", "role:<slug>" or "user:<name>"."""
        if token.casefold() == LEAD:
            return LEAD
        slug = slugify(token)
        if slug in self.roles:
            return f"role:{slug}"
        return f"user:{token.casefold()}"

    def keys_of(self, user) -> set[str]:
        """Every token key that names `user` here."""
        keys = {f"user:{user.username.casefold()}"}
        if self.deployment.lead_id == user.pk:
            keys.add(LEAD)
        keys.update(f"role:{slug}" for slug, ids in self.role_people.items() if user.pk in ids)
        return keys

    def owns(self, user, owners) -> bool:
        mine = self.keys_of(user)
        return any(self.key(token) in mine for token in owners)

    def label(self, token: str) -> str:
        key = self.key(token)
        if key == LEAD:
            return "the lead"
        if key.startswith("role:"):
            return self.roles[key[5:]]
        return f"@{token}"

    def people(self, owners) -> list:
        """The users the tokens name who may see this deployment, by username."""
        ids: set[int] = set()
        names = []
        for token in owners:
            key = self.key(token)
            if key == LEAD:
                ids.add(self.deployment.lead_id)
            elif key.startswith("role:"):
                ids |= self.role_people.get(key[5:], set())
            else:
                names.append(key[5:])
        users = get_user_model().objects.annotate(name=Lower("username"))
        allowed = allowed_user_ids(self.deployment.pk)
        found = users.filter(name__in=names).values_list("pk", flat=True) if names else []
        ids |= set(found)
        return list(
            get_user_model()
            .objects.filter(pk__in=ids & allowed, is_active=True)
            .order_by("username")
        )
