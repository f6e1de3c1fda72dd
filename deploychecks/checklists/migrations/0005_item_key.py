from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0004_contact_filled_in"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="key",
            field=models.CharField(blank=True, default="", max_length=80),
            preserve_default=False,
        ),
    ]
