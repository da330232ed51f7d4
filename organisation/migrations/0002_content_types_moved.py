"""Permissions, admin log entries and group rights follow the moved models.

Django keys them by content type ("enrollment.member"); the rows are relabelled to the models'
new apps, so every permission a group or user held still applies. A content type that Django
created for the new label in between (by a migrate run with the new code before this one) is
dropped in favour of the old row, which the permissions and log entries point at.
"""

from django.db import migrations

MOVED = {
    "union": ("enrollment", "organisation"),
    "user": ("enrollment", "organisation"),
    "member": ("enrollment", "organisation"),
    "auditentry": ("enrollment", "auditlog"),
}


def _relabel(apps, schema_editor, backwards: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for model, (old_app, new_app) in MOVED.items():
        source, target = (new_app, old_app) if backwards else (old_app, new_app)
        row = content_type.objects.using(db).filter(app_label=source, model=model).first()
        if row is None:
            continue
        duplicate = content_type.objects.using(db).filter(app_label=target, model=model).first()
        if duplicate is not None:
            permission.objects.using(db).filter(content_type=duplicate).delete()
            duplicate.delete()
        row.app_label = target
        row.save(update_fields=["app_label"])


def forwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, backwards=False)


def backwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):
    dependencies = [
        ("organisation", "0001_initial"),
        ("auditlog", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
