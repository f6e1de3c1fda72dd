"""The two global groups: managers read every deployment, admins manage
templates and users. Created (and their permissions kept) on every migrate."""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from deploychecks.accounts.people import ADMINS_GROUP as ADMINS
from deploychecks.accounts.people import MANAGERS_GROUP as MANAGERS

# app label -> models whose every permission admins hold.
ADMIN_PERMISSIONS = {
    "checklists": None,  # all models: importing and editing templates
    "auth": {"user", "group"},
}


def ensure_groups(*, using="default", **kwargs) -> None:
    """Create the groups and give admins their permissions (idempotent)."""
    # Permissions are made by each app's own post_migrate, which may come
    # after ours: make sure the ones we hand out exist.
    for app_label in ADMIN_PERMISSIONS:
        create_permissions(apps.get_app_config(app_label), verbosity=0, using=using)
    groups = Group.objects.db_manager(using)
    groups.get_or_create(name=MANAGERS)
    admins, _ = groups.get_or_create(name=ADMINS)
    for app_label, models in ADMIN_PERMISSIONS.items():
        permissions = Permission.objects.using(using).filter(content_type__app_label=app_label)
        if models is not None:
            permissions = permissions.filter(content_type__model__in=models)
        admins.permissions.add(*permissions)
