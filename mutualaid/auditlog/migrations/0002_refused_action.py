"""A new action: a number not shown in full because its user reached the limit."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "Created"),
                    ("update", "Changed"),
                    ("delete", "Deleted"),
                    ("bulk", "Bulk change"),
                    ("view", "Viewed in full"),
                    ("download", "Downloaded"),
                    ("purge", "Purged under retention rules"),
                    ("login", "Signed in"),
                    ("logout", "Signed out"),
                    ("login_failed", "Sign-in failed"),
                    ("refused", "Refused: limit reached"),
                ],
                max_length=16,
                verbose_name="action",
            ),
        ),
    ]
