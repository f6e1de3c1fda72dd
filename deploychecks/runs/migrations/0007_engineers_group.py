"""Creating deployments becomes a permission (runs.add_deployment), held by the
global "engineers" group: everyone who has led a deployment or worked on one as
an engineer keeps the right they used, and nobody else gains it.

The group's permission itself is given by accounts.groups.ensure_groups after
every migrate (permissions are only created once all migrations ran).
"""

from django.conf import settings
from django.db import migrations
from django.db.models import Q

ENGINEERS = "engineers"  # accounts.people.ENGINEERS_GROUP, frozen here


def give_engineers_the_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    engineers, _ = Group.objects.get_or_create(name=ENGINEERS)
    people = User.objects.filter(
        Q(led_deployments__isnull=False) | Q(participations__role="engineer")
    ).distinct()
    engineers.user_set.add(*people)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0006_signoff_independence"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(give_engineers_the_group, migrations.RunPython.noop),
    ]
