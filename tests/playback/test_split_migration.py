"""Moving media assets to `media` and sessions and viewing activity to `playback` loses nothing.

A database at catalog 0006 (before the split) is filled with one row of every moved model, then
migrated forward through media 0001, playback 0001 and catalog 0007: every row is still there
with the same values, readable through the new apps' models, and the content types (with the
permissions granted on them) now carry the new app labels. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

BEFORE = ("catalog", "0006_drop_playback_progress")
AFTER = [("catalog", "0007_move_media_and_playback")]
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _fill_old_schema(apps) -> dict[str, object]:
    user_model = apps.get_model("accounts", "User")
    profile_model = apps.get_model("accounts", "Profile")
    title_model = apps.get_model("catalog", "Title")
    season_model = apps.get_model("catalog", "Season")
    episode_model = apps.get_model("catalog", "Episode")
    asset_model = apps.get_model("catalog", "MediaAsset")
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")

    user = user_model.objects.create(email="split@example.com", password="!")
    profile = profile_model.objects.create(account=user, name="Split")
    movie = title_model.objects.create(name="Moved", slug="moved", kind="movie")
    series = title_model.objects.create(name="Serial", slug="serial", kind="series")
    season = season_model.objects.create(title=series, number=1)
    episode = episode_model.objects.create(season=season, number=1, name="One")
    asset_uuid = uuid.uuid4()
    asset = asset_model.objects.create(
        uuid=asset_uuid,
        title=movie,
        status="ready",
        version=2,
        ready_version=2,
        content_key=f"hls/{asset_uuid}/2/",
        master_key=f"hls/{asset_uuid}/2/master.m3u8",
        duration=61.5,
        created_at=AT,
    )
    apps.get_model("catalog", "Rendition").objects.create(
        asset=asset,
        version=2,
        width=1280,
        height=720,
        target_bitrate=2_500_000,
        bandwidth=2_750_000,
        average_bandwidth=2_400_000,
        codecs="avc1.64001f,mp4a.40.2",
        frame_rate=25.0,
        playlist_key=f"hls/{asset_uuid}/2/720p/index.m3u8",
        segment_count=16,
    )
    apps.get_model("catalog", "Subtitle").objects.create(
        asset=asset, language="pt-BR", label="Português", vtt_key="subs/pt.vtt", created_at=AT
    )
    session_id = uuid.uuid4()
    apps.get_model("catalog", "PlaybackSession").objects.create(
        id=session_id,
        account=user,
        profile=profile,
        title=series,
        episode=episode,
        device="Firefox on Linux",
        client_ip="203.0.113.9",
        max_height=720,
        created_at=AT,
        expires_at=AT + timedelta(seconds=75),
        last_seq=41,
        position_seconds=312.25,
        progress_dirty=True,
    )
    apps.get_model("catalog", "PlaybackAccountLock").objects.create(account=user)
    apps.get_model("catalog", "ViewingEvent").objects.create(
        profile=profile,
        title=movie,
        event_type="complete",
        position_seconds=3600,
        duration_seconds=3600,
        occurred_at=AT,
        import_key="movielens:1:2",
    )
    apps.get_model("catalog", "Progress").objects.create(
        profile=profile,
        title=series,
        episode=episode,
        position_seconds=300,
        duration_seconds=1500,
        last_event_at=AT,
    )
    apps.get_model("catalog", "MyListEntry").objects.create(
        profile=profile, title=movie, added_at=AT
    )
    apps.get_model("catalog", "ThumbRating").objects.create(
        profile=profile, title=movie, value=-1, score=1.5, rated_at=AT
    )
    # Content types exist from earlier deploys (post_migrate made them), with a permission that
    # a staff group was granted.
    asset_type = content_type_model.objects.create(app_label="catalog", model="mediaasset")
    content_type_model.objects.create(app_label="catalog", model="playbacksession")
    permission = permission_model.objects.create(
        content_type=asset_type, codename="change_mediaasset", name="Can change media asset"
    )
    return {
        "user": user.pk,
        "profile": profile.pk,
        "movie": movie.pk,
        "series": series.pk,
        "episode": episode.pk,
        "asset": asset.pk,
        "asset_uuid": asset_uuid,
        "session": session_id,
        "permission": permission.pk,
    }


@pytest.mark.slow
def test_the_split_keeps_every_row_of_the_moved_models(migrator_factory):
    migrator = migrator_factory()
    old = migrator.apply_initial_migration(BEFORE)
    ids = _fill_old_schema(old.apps)

    new = migrator.apply_tested_migration(AFTER)
    apps = new.apps

    asset = apps.get_model("media", "MediaAsset").objects.get()
    assert (asset.pk, asset.uuid, asset.title_id, asset.episode_id) == (
        ids["asset"],
        ids["asset_uuid"],
        ids["movie"],
        None,
    )
    assert (asset.status, asset.version, asset.ready_version, asset.duration) == (
        "ready",
        2,
        2,
        61.5,
    )
    assert asset.content_key == f"hls/{ids['asset_uuid']}/2/"
    rendition = apps.get_model("media", "Rendition").objects.get()
    assert (rendition.asset_id, rendition.height, rendition.bandwidth, rendition.codecs) == (
        ids["asset"],
        720,
        2_750_000,
        "avc1.64001f,mp4a.40.2",
    )
    subtitle = apps.get_model("media", "Subtitle").objects.get()
    assert (subtitle.asset_id, subtitle.language, subtitle.label) == (
        ids["asset"],
        "pt-BR",
        "Português",
    )

    session = apps.get_model("playback", "PlaybackSession").objects.get()
    assert (session.pk, session.account_id, session.profile_id, session.episode_id) == (
        ids["session"],
        ids["user"],
        ids["profile"],
        ids["episode"],
    )
    assert (session.client_ip, session.max_height, session.last_seq) == ("203.0.113.9", 720, 41)
    assert (session.position_seconds, session.progress_dirty) == (312.25, True)
    assert session.expires_at == AT + timedelta(seconds=75)
    assert apps.get_model("playback", "PlaybackAccountLock").objects.get().pk == ids["user"]
    event = apps.get_model("playback", "ViewingEvent").objects.get()
    assert (event.profile_id, event.title_id, event.event_type, event.import_key) == (
        ids["profile"],
        ids["movie"],
        "complete",
        "movielens:1:2",
    )
    progress = apps.get_model("playback", "Progress").objects.get()
    assert (progress.title_id, progress.episode_id, progress.position_seconds) == (
        ids["series"],
        ids["episode"],
        300,
    )
    entry = apps.get_model("playback", "MyListEntry").objects.get()
    assert (entry.profile_id, entry.title_id, entry.added_at) == (ids["profile"], ids["movie"], AT)
    rating = apps.get_model("playback", "ThumbRating").objects.get()
    assert (rating.value, rating.score) == (-1, 1.5)

    # The new apps write to the same tables: a new row follows the old ones' ids.
    entry_model = apps.get_model("playback", "MyListEntry")
    second = entry_model.objects.create(
        profile_id=ids["profile"], title_id=ids["series"], added_at=AT
    )
    assert second.pk == entry.pk + 1

    content_types = apps.get_model("contenttypes", "ContentType").objects
    assert sorted(content_types.values_list("app_label", "model")) == [
        ("media", "mediaasset"),
        ("playback", "playbacksession"),
    ]
    permission = apps.get_model("auth", "Permission").objects.get(pk=ids["permission"])
    assert (permission.content_type.app_label, permission.codename) == (
        "media",
        "change_mediaasset",
    )

    migrator.reset()
