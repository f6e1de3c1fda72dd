"""Demo users, the built-in template and a demo deployment. Safe to run again."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.groups import ensure_groups
from deploychecks.accounts.people import ADMINS_GROUP, ENGINEERS_GROUP, MANAGERS_GROUP
from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.runs.models import Deployment
from deploychecks.runs.services import create_deployment

DEMO_PASSWORD = "deploychecks-demo"  # noqa: S105  published: demo only

# username, full name, description
DEMO_USERS = [
    ("admin", "Avery Admin", "admin: manages templates and users"),
    ("lead", "Lee Lead", "deployment lead of the demo deployment; starts deployments"),
    ("engineer", "Erin Engineer", "engineer: ticks items, adds notes, starts deployments"),
    ("engineer2", "Sam Second", "second engineer"),
    ("em", "Emma Manager", "approver: Engineering Manager"),
    ("devops", "Dev Ops", "approver: DevOps Lead"),
    ("pm", "Priya Product", "approver: Product Manager"),
    ("qa", "Quinn QA", "approver: QA Lead"),
    ("manager", "Morgan Director", "manager: reads every deployment"),
    ("viewer", "Vic Viewer", "viewer: read only"),
]
ENGINEER_USERS = ("lead", "engineer", "engineer2")
APPROVER_ROLES = {
    "em": "Engineering Manager",
    "devops": "DevOps Lead",
    "pm": "Product Manager",
    "qa": "QA Lead",
}


class Command(BaseCommand):
    help = "Create demo users, the default template and a demo deployment (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = self._users()
        revision = ensure_default_template()
        self._deployment(revision, users)
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for username, name, description in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {name:<16} {description}")
        self.stdout.write("")

    def _users(self):
        User = get_user_model()
        # migrate made them already; again here, so the demo never depends on the order.
        ensure_groups()
        groups = {g.name: g for g in Group.objects.all()}
        users = {}
        for username, full_name, _ in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                if username == "admin":
                    user.is_staff = user.is_superuser = True
                user.save()
            users[username] = user
        users["admin"].groups.add(groups[ADMINS_GROUP])
        users["manager"].groups.add(groups[MANAGERS_GROUP])
        # Those who start deployments; the viewer, the approvers and the manager may not.
        for username in ENGINEER_USERS:
            users[username].groups.add(groups[ENGINEERS_GROUP])
        return users

    def _deployment(self, revision, users):
        if Deployment.objects.filter(release_name="Spring release", version="2.0.0").exists():
            return
        create_deployment(
            revision,
            user=users["lead"],
            release_name="Spring release",
            version="2.0.0",
            previous_version="1.1.0",
            service="checkout-api",
            environment="production",
            planned_start=timezone.now() + timedelta(hours=1),
            lead=users["lead"],
            engineers=[users["engineer"], users["engineer2"]],
            approvers={users[u]: role for u, role in APPROVER_ROLES.items()},
            viewers=[users["viewer"]],
        )
