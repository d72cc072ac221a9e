"""Operations may view each edge's per-edge mode (cdn.EdgeMode, streamsite.roles)."""

from django.db import migrations

from streamsite.roles import roles_sync


def forwards(apps, schema_editor):
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("streamsite", "0002_staff_roles"),
        ("cdn", "0003_edge_mode"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
