"""Media assets went to the `media` app, sessions and viewing activity to `playback`.

Nothing in the database changes: the models kept their tables (db_table), so this only drops
them from catalog's model state (media 0001 and playback 0001 add them there) and moves their
content types, so permissions and admin log entries granted on them follow.
"""

from django.db import migrations

MOVED = {
    "media": ["mediaasset", "rendition", "subtitle"],
    "playback": [
        "playbacksession",
        "playbackaccountlock",
        "viewingevent",
        "progress",
        "mylistentry",
        "thumbrating",
    ],
}


def move_content_types(apps, schema_editor, *, reverse=False):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for app_label, models in MOVED.items():
        src, dst = ("catalog", app_label) if not reverse else (app_label, "catalog")
        for model in models:
            # A type already under the new label (post_migrate ran between) wins; the old stays.
            if ContentType.objects.using(db).filter(app_label=dst, model=model).exists():
                continue
            ContentType.objects.using(db).filter(app_label=src, model=model).update(app_label=dst)


def move_back(apps, schema_editor):
    move_content_types(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_drop_playback_progress"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("media", "0001_initial"),
        ("playback", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Rendition"),
                migrations.DeleteModel(name="Subtitle"),
                migrations.DeleteModel(name="MediaAsset"),
                migrations.DeleteModel(name="PlaybackSession"),
                migrations.DeleteModel(name="PlaybackAccountLock"),
                migrations.DeleteModel(name="ViewingEvent"),
                migrations.DeleteModel(name="Progress"),
                migrations.DeleteModel(name="MyListEntry"),
                migrations.DeleteModel(name="ThumbRating"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_back),
    ]
