"""Demo users, the built-in template and a demo deployment. Safe to run again."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from deploychecks.accounts.people import ADMINS_GROUP, MANAGERS_GROUP
from deploychecks.checklists.defaults import ensure_default_template
from deploychecks.runs.models import Deployment
from deploychecks.runs.services import create_deployment

DEMO_PASSWORD = "deploychecks-demo"

# username, full name, description
DEMO_USERS = [
    ("admin", "Avery Admin", "admin: manages templates and users"),
    ("lead", "Lee Lead", "deployment lead of the demo deployment"),
    ("engineer", "Erin Engineer", "engineer: ticks items, adds notes"),
    ("engineer2", "Sam Second", "second engineer"),
    ("em", "Emma Manager", "approver: Engineering Manager"),
    ("devops", "Dev Ops", "approver: DevOps Lead"),
    ("pm", "Priya Product", "approver: Product Manager"),
    ("qa", "Quinn QA", "approver: QA Lead"),
    ("manager", "Morgan Director", "manager: reads every deployment"),
    ("viewer", "Vic Viewer", "viewer: read only"),
]
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
        self.stdout.write("\nDemo logins (password for all: %s)" % DEMO_PASSWORD)
        for username, name, description in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {name:<16} {description}")
        self.stdout.write("")

    def _users(self):
        User = get_user_model()
        admins, _ = Group.objects.get_or_create(name=ADMINS_GROUP)
        admins.permissions.add(
            *Permission.objects.filter(content_type__app_label__in=["checklists", "auth"])
        )
        managers, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
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
        users["admin"].groups.add(admins)
        users["manager"].groups.add(managers)
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
