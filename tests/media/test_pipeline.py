"""End to end with real ffmpeg: upload -> probe -> per-title ladder -> HLS -> ready."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import m3u8
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media import services, subtitles
from media.models import MediaAsset, Rendition
from media.selectors import (
    asset_media,
    build_master_playlist,
    ready_asset_for_episode,
    ready_asset_for_title,
)
from tests.media.conftest import stored_keys
from tests.media.factories import episode, movie, upload_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SRT = b"1\n00:00:00,500 --> 00:00:02,000\nHello there.\n\n2\n00:00:03,000 --> 00:00:04,250\nBye.\n"


def keyframe_times(path: Path) -> list[float]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [round(float(f["pts_time"]), 3) for f in json.loads(out)["frames"]]


def _ready_asset(media_root, clips, settings, django_capture_on_commit_callbacks, staff):
    settings.MEDIA_QUALITY_SAMPLE_SECONDS = 2
    title = movie()
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(
            upload=upload_of(clips["480p"]), title=title, created_by=staff
        )
        subtitles.subtitle_put(
            asset=asset,
            language="en",
            label="English",
            upload=SimpleUploadedFile("en.srt", SRT),
        )
    asset.refresh_from_db()
    return asset


def check_upload_becomes_ready_with_every_rung_up_to_the_source_height(ready_asset, media_root):
    asset = ready_asset
    assert (asset.status, asset.progress, asset.error) == ("ready", 100, "")
    assert (asset.width, asset.height, asset.frame_rate, asset.duration) == (640, 480, 25.0, 6.0)
    assert (asset.video_codec, asset.audio_codec, asset.audio_channels) == ("h264", "aac", 1)
    assert asset.ladder_method == "per_title"
    assert asset.content_key == f"hls/{asset.uuid}/1"
    renditions = list(asset.renditions.order_by("height"))
    assert [(r.width, r.height) for r in renditions] == [(320, 240), (480, 360), (640, 480)]
    assert [r.segment_count for r in renditions] == [2, 2, 2]
    for r in renditions:
        assert r.codecs.startswith("avc1.6400") and r.codecs.endswith(",mp4a.40.2")
        assert r.frame_rate == 25.0
        assert r.vmaf is not None and 0 <= r.vmaf <= 100
        assert r.bandwidth >= r.average_bandwidth
    assert "-force_key_frames" in asset.ffmpeg_command
    # The source is kept; poster, trickplay and subtitles are stored under the version prefix.
    keys = stored_keys(media_root)
    assert asset.source_key in keys
    prefix = asset.content_key
    for name in ("master.m3u8", "poster.jpg", "trickplay.jpg", "trickplay.vtt"):
        assert f"{prefix}/{name}" in keys
    assert f"{prefix}/subs/en.vtt" in keys and f"{prefix}/subs/en.m3u8" in keys
    vtt = (media_root / prefix / "subs/en.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello there.")


def check_variant_playlists_parse_and_segments_keep_the_target_duration(ready_asset, media_root):
    for r in ready_asset.renditions.all():
        playlist = m3u8.load(str(media_root / r.playlist_key))
        assert playlist.target_duration == 4
        assert playlist.playlist_type == "vod"
        assert playlist.is_endlist is True
        assert [round(s.duration, 2) for s in playlist.segments] == [4.0, 2.0]


def check_keyframes_are_aligned_across_renditions_at_segment_starts(ready_asset, media_root):
    per_rendition = []
    for r in ready_asset.renditions.order_by("height"):
        directory = media_root / r.playlist_key.rsplit("/", 1)[0]
        segments = sorted(directory.glob("seg_*.ts"))
        # Every segment opens on a keyframe, and the keyframes fall at the same times.
        firsts = [keyframe_times(s)[0] for s in segments]
        per_rendition.append(firsts)
    assert len(per_rendition) == 3
    assert per_rendition[0] == per_rendition[1] == per_rendition[2]
    assert round(per_rendition[0][1] - per_rendition[0][0], 2) == 4.0


def check_stored_master_lists_every_rendition_with_its_attributes(ready_asset, media_root):
    master = m3u8.load(str(media_root / ready_asset.master_key))
    assert master.is_variant
    renditions = {r.height: r for r in ready_asset.renditions.all()}
    # One audio rendition (the clip's untagged tone): the variants count its bits as well.
    (sound,) = ready_asset.audio_renditions.all()
    assert (sound.language, sound.name) == ("und", "Original")
    seen = []
    for p in master.playlists:
        info = p.stream_info
        r = renditions[info.resolution[1]]
        seen.append(info.resolution)
        assert info.bandwidth == r.bandwidth + sound.bandwidth
        assert info.average_bandwidth == r.average_bandwidth + sound.average_bandwidth
        assert info.codecs == r.codecs
        assert info.audio == "audio"
        assert info.frame_rate == 25.0
        assert p.uri == f"{r.height}p/index.m3u8"
        assert (media_root / ready_asset.content_key / p.uri).exists()
    assert seen == [(320, 240), (480, 360), (640, 480)]
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.language, m.name, m.uri) for m in subs] == [("en", "English", "subs/en.m3u8")]


def check_build_master_playlist_caps_height_and_signs_every_uri(ready_asset, media_root):
    asset = ready_asset_for_title(ready_asset.title_id)
    assert asset is not None and asset.pk == ready_asset.pk
    text = build_master_playlist(
        asset, max_height=360, uri_for=lambda key: f"https://cdn/{key}?s=1"
    )
    master = m3u8.loads(text)
    assert [p.stream_info.resolution for p in master.playlists] == [(320, 240), (480, 360)]
    prefix = ready_asset.content_key
    assert [p.uri for p in master.playlists] == [
        f"https://cdn/{prefix}/240p/index.m3u8?s=1",
        f"https://cdn/{prefix}/360p/index.m3u8?s=1",
    ]
    assert [(m.type, m.uri) for m in master.media] == [
        ("AUDIO", f"https://cdn/{prefix}/audio_und/index.m3u8?s=1"),
        ("SUBTITLES", f"https://cdn/{prefix}/subs/en.m3u8?s=1"),
    ]
    media = asset_media(asset)
    assert [r.height for r in media.renditions] == [240, 360, 480]
    assert media.poster_key == f"{prefix}/poster.jpg"
    assert media.sprite_key == f"{prefix}/trickplay.jpg"


def check_trickplay_vtt_maps_each_interval_to_a_tile_of_the_sprite(ready_asset, media_root):
    vtt = (media_root / ready_asset.thumbnails_vtt_key).read_text()
    assert vtt.splitlines()[:4] == [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:01.000",
        "trickplay.jpg#xywh=0,0,160,120",
    ]
    assert vtt.count("-->") == 6


def test_one_upload_end_to_end(
    media_root, clips, settings, django_capture_on_commit_callbacks, staff
):
    """One real encode, checked from every side (one test: the encode is the slow part)."""
    asset = _ready_asset(media_root, clips, settings, django_capture_on_commit_callbacks, staff)
    check_upload_becomes_ready_with_every_rung_up_to_the_source_height(asset, media_root)
    check_variant_playlists_parse_and_segments_keep_the_target_duration(asset, media_root)
    check_keyframes_are_aligned_across_renditions_at_segment_starts(asset, media_root)
    check_stored_master_lists_every_rendition_with_its_attributes(asset, media_root)
    check_build_master_playlist_caps_height_and_signs_every_uri(asset, media_root)
    check_trickplay_vtt_maps_each_interval_to_a_tile_of_the_sprite(asset, media_root)


def test_a_source_below_240p_gets_one_rendition_and_none_above(
    media_root, clips, django_capture_on_commit_callbacks, tmp_path
):
    from media import synthetic

    small = synthetic.make_clip(tmp_path / "small.mp4", width=256, height=144, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(small), episode=episode())
    asset.refresh_from_db()
    assert asset.status == "ready"
    assert list(asset.renditions.values_list("width", "height")) == [(256, 144)]
    assert ready_asset_for_episode(asset.episode_id).pk == asset.pk


@pytest.mark.parametrize(
    ("clip", "reason"),
    [
        ("text", "not a media file (ffprobe found no readable audio or video)"),
        ("truncated", "file is truncated (the container's index is missing or cut short)"),
        ("audio", "no video stream found"),
    ],
)
def test_a_bad_upload_fails_with_its_reason_and_nothing_is_published(
    clip, reason, media_root, clips, django_capture_on_commit_callbacks
):
    title = movie()
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips[clip]), title=title)
    asset.refresh_from_db()
    assert (asset.status, asset.error) == ("failed", reason)
    assert asset.content_key == "" and asset.ready_version is None
    assert Rendition.objects.filter(asset=asset).count() == 0
    assert ready_asset_for_title(title) is None
    assert stored_keys(media_root) == [asset.source_key]


def test_a_storage_error_fails_the_job_cleanly(
    media_root, clips, monkeypatch, django_capture_on_commit_callbacks
):
    from media import storage

    real = storage.save_exact
    written = []

    def flaky(key, content):
        if key.startswith("hls/") and len(written) >= 3:
            raise OSError(28, "No space left on device")
        real(key, content)
        written.append(key)

    monkeypatch.setattr(storage, "save_exact", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    asset.refresh_from_db()
    assert asset.status == "failed"
    assert asset.error == "storage error: [Errno 28] No space left on device"
    assert asset.content_key == ""
    assert Rendition.objects.count() == 0
    assert stored_keys(media_root, "hls") == []
    assert stored_keys(media_root) == [asset.source_key]


def test_reencoding_a_ready_asset_switches_versions_at_once_and_removes_the_old(
    media_root, clips, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    asset.refresh_from_db()
    old_prefix = asset.content_key
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_reencode(asset=asset)
    asset.refresh_from_db()
    assert (asset.status, asset.version, asset.ready_version) == ("ready", 2, 2)
    assert asset.content_key == f"hls/{asset.uuid}/2"
    assert list(asset.renditions.values_list("version", flat=True)) == [2]
    assert stored_keys(media_root, old_prefix) == []
    assert stored_keys(media_root, asset.content_key) != []
    assert MediaAsset.objects.count() == 1
