"""The lease table's single-column account index goes: `catalog_pbs_account_exp` (account,
expires_at) leads with the same column and serves every lookup by account, so the other was
one more index written at every start and every heartbeat.

Only the index is dropped. Django's own AlterField would also drop and re-add the foreign key,
which validates every row under a lock that stops starts and heartbeats on a large table.
On PostgreSQL the drop is CONCURRENTLY, so it takes no such lock either (hence not atomic)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEX = "catalog_playbacksession_account_id_554a19d8"  # Django's name for the field's index


def drop_index(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{INDEX}"')


def create_index(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX{concurrently} IF NOT EXISTS "{INDEX}" '
        'ON "catalog_playbacksession" ("account_id")'
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("playback", "0003_activity_scan_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="playbacksession",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="playback_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
