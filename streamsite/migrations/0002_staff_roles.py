"""The staff roles (groups of least privilege) of streamsite/roles.py and their permissions.

It depends on every app whose permissions a role holds, so that their models (and so their
permissions) exist when it runs."""

from django.db import migrations

from streamsite.roles import roles_sync


def forwards(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_security"),
        ("streamsite", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0005_no_extra_member_slots"),
        ("catalog", "0007_move_media_and_playback"),
        ("media", "0001_initial"),
        ("playback", "0001_initial"),
        ("cdn", "0001_initial"),
        ("recommendations", "0002_fold"),
        ("audit", "0001_initial"),
        ("insights", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
