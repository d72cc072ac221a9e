"""Search on PostgreSQL: pg_trgm, a GIN index on the tsvector and a trigram index on names.

Nothing happens on SQLite, which uses the simpler fallback (see docs/catalog.md).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = [
    (
        "CREATE INDEX IF NOT EXISTS catalog_title_search_gin "
        "ON catalog_title USING gin (search_vector)",
        "DROP INDEX IF EXISTS catalog_title_search_gin",
    ),
    (
        "CREATE INDEX IF NOT EXISTS catalog_title_name_trgm "
        "ON catalog_title USING gin (lower(name) gin_trgm_ops)",
        "DROP INDEX IF EXISTS catalog_title_name_trgm",
    ),
    (
        "CREATE INDEX IF NOT EXISTS catalog_person_name_trgm "
        "ON catalog_person USING gin (lower(name) gin_trgm_ops)",
        "DROP INDEX IF EXISTS catalog_person_name_trgm",
    ),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for create, _ in INDEXES:
        schema_editor.execute(create)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, drop in INDEXES:
        schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_model")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(forwards, backwards),
    ]
