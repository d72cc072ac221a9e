"""`ready_asset_media`: what playback asks of the media pipeline on every start and heartbeat,
in one query once the process has seen the ready version, and never an old version's files
or an old list of subtitles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from media import selectors
from media.models import AudioRendition, MediaAsset, Rendition, Subtitle
from tests.media.factories import episode, movie

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_copies():
    selectors.forget_version_copies()
    yield
    selectors.forget_version_copies()


def ready(title=None, ep=None, *, version=2, heights=(360, 720), ready_at=None) -> MediaAsset:
    """A ready asset of `version` (the rows the pipeline's publish writes), plus an in-flight
    version above it that must never be served."""
    asset = MediaAsset.objects.create(title=title, episode=ep, status=MediaAsset.Status.READY)
    publish(asset, version, heights, ready_at=ready_at)
    add_renditions(asset, version + 1, (1080,))  # a re-encode still running
    return asset


def add_renditions(asset: MediaAsset, version: int, heights) -> None:
    prefix = f"hls/{asset.uuid}/{version}"
    for height in heights:
        Rendition.objects.create(
            asset=asset, version=version, width=height * 16 // 9, height=height,
            target_bitrate=height * 1000, bandwidth=height * 1100, average_bandwidth=height * 900,
            codecs="avc1.64001f,mp4a.40.2", frame_rate=25.0,
            playlist_key=f"{prefix}/{height}p/index.m3u8",
        )  # fmt: skip
    AudioRendition.objects.create(
        asset=asset, version=version, position=0, language="eng", name=f"English v{version}",
        codecs="mp4a.40.2", target_bitrate=128_000, bandwidth=130_000, average_bandwidth=128_000,
        playlist_key=f"{prefix}/audio-eng/index.m3u8",
    )  # fmt: skip


def publish(asset: MediaAsset, version: int, heights, *, ready_at=None) -> None:
    """What media.transcode's publish does: the version's rows written again, the asset
    switched to it, older versions' rows deleted."""
    Rendition.objects.filter(asset=asset, version=version).delete()
    AudioRendition.objects.filter(asset=asset, version=version).delete()
    add_renditions(asset, version, heights)
    prefix = f"hls/{asset.uuid}/{version}"
    MediaAsset.objects.filter(pk=asset.pk).update(
        ready_version=version, content_key=prefix, duration=42.0,
        sprite_key=f"{prefix}/sprite.jpg", thumbnails_vtt_key=f"{prefix}/thumbs.vtt",
        ready_at=ready_at or timezone.now(),
    )  # fmt: skip
    Rendition.objects.filter(asset=asset, version__lt=version).delete()
    AudioRendition.objects.filter(asset=asset, version__lt=version).delete()


def test_it_is_asset_media_of_the_newest_ready_asset():
    title = movie()
    ready(title, ready_at=timezone.now() - timedelta(days=1), heights=(240,))
    newest = ready(title, heights=(360, 720, 480))
    Subtitle.objects.create(asset=newest, language="fr", label="Français", vtt_key="subs/fr.vtt")
    Subtitle.objects.create(asset=newest, language="de", label="Deutsch", vtt_key="subs/de.vtt")
    found = selectors.ready_asset_media(title_id=title.pk)
    assert found == selectors.asset_media(selectors.ready_asset_for_title(title))
    assert found is not None
    assert [r.height for r in found.renditions] == [360, 480, 720]  # version 2, ascending
    assert [a.name for a in found.audio] == ["English v2"]
    assert [s.language for s in found.subtitles] == ["de", "fr"]
    assert found.content_key == f"hls/{newest.uuid}/2"


def test_an_episode_has_its_own_asset():
    ep = episode()
    asset = ready(ep=ep)
    found = selectors.ready_asset_media(episode_id=ep.pk)
    assert found is not None and found.asset_id == asset.pk
    assert selectors.ready_asset_media(title_id=ep.season.title_id) is None


def test_no_ready_asset_is_none():
    title = movie()
    MediaAsset.objects.create(title=title)  # queued, never ready
    assert selectors.ready_asset_media(title_id=title.pk) is None


def test_once_the_version_is_known_it_is_one_query(django_assert_num_queries):
    title = movie()
    ready(title)
    with django_assert_num_queries(3):  # the asset with its subtitles; renditions; audio
        first = selectors.ready_asset_media(title_id=title.pk)
    with django_assert_num_queries(1):
        assert selectors.ready_asset_media(title_id=title.pk) == first


def test_a_new_ready_version_is_served_at_once():
    title = movie()
    asset = ready(title)
    before = selectors.ready_asset_media(title_id=title.pk)
    publish(asset, 3, (1080, 2160))  # the re-encode finished: version 3 is the ready one
    after = selectors.ready_asset_media(title_id=title.pk)
    assert before is not None and after is not None
    assert [r.height for r in after.renditions] == [1080, 2160]
    assert [a.name for a in after.audio] == ["English v3"]
    assert after.content_key == f"hls/{asset.uuid}/3"
    assert all(r.playlist_key.startswith(after.content_key) for r in after.renditions)


def test_subtitles_added_or_removed_are_seen_at_once():
    title = movie()
    asset = ready(title)
    assert selectors.ready_asset_media(title_id=title.pk).subtitles == ()
    sub = Subtitle.objects.create(asset=asset, language="es", label="Español", vtt_key="k.vtt")
    found = selectors.ready_asset_media(title_id=title.pk)
    assert [(s.language, s.label) for s in found.subtitles] == [("es", "Español")]
    sub.delete()
    assert selectors.ready_asset_media(title_id=title.pk).subtitles == ()


def test_a_withdrawn_asset_is_not_served_from_the_copy():
    title = movie()
    asset = ready(title)
    assert selectors.ready_asset_media(title_id=title.pk) is not None
    MediaAsset.objects.filter(pk=asset.pk).update(ready_version=None, content_key="")
    assert selectors.ready_asset_media(title_id=title.pk) is None
