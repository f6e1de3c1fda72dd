"""The global groups: managers read every deployment, engineers start
deployments, admins manage templates and users (and may start deployments too).
Created (and their permissions kept) on every migrate."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from deploychecks.accounts.people import ADMINS_GROUP as ADMINS
from deploychecks.accounts.people import CREATE_DEPLOYMENT
from deploychecks.accounts.people import ENGINEERS_GROUP as ENGINEERS
from deploychecks.accounts.people import MANAGERS_GROUP as MANAGERS

# app label -> models whose every permission admins hold.
ADMIN_PERMISSIONS = {
    "checklists": None,  # all models: importing and editing templates
    "auth": {"user", "group"},
}
# "app_label.codename" of the permissions the engineers group holds (admins too).
ENGINEER_PERMISSIONS = (CREATE_DEPLOYMENT,)


def ensure_groups(*, using="default", **kwargs) -> None:
    """Create the groups and give admins and engineers their permissions (idempotent)."""
    # Permissions are made by each app's own post_migrate, which may come
    # after ours: make sure the ones we hand out exist.
    labels = {*ADMIN_PERMISSIONS, *(name.split(".")[0] for name in ENGINEER_PERMISSIONS)}
    for app_label in labels:
        create_permissions(apps.get_app_config(app_label), verbosity=0, using=using)
    groups = Group.objects.db_manager(using)
    groups.get_or_create(name=MANAGERS)
    admins, _ = groups.get_or_create(name=ADMINS)
    engineers, _ = groups.get_or_create(name=ENGINEERS)
    for app_label, models in ADMIN_PERMISSIONS.items():
        permissions = Permission.objects.using(using).filter(content_type__app_label=app_label)
        if models is not None:
            permissions = permissions.filter(content_type__model__in=models)
        admins.permissions.add(*permissions)
    for name in ENGINEER_PERMISSIONS:
        app_label, codename = name.split(".")
        permission = Permission.objects.using(using).get(
            content_type__app_label=app_label, codename=codename
        )
        engineers.permissions.add(permission)
        admins.permissions.add(permission)
