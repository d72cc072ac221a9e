"""Reads of the media pipeline for playback and pages: ready assets and their HLS master.

Contract for the playback app (docs/media.md): `ready_asset_for_title`, `ready_asset_for_episode`,
`asset_media` and `build_master_playlist`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Prefetch, QuerySet

from catalog.models import Episode, Title
from media import playlists, ready_copies
from media.models import AudioRendition, MediaAsset, Rendition, Subtitle
from streamsite import prebuilt


@dataclass(frozen=True)
class RenditionInfo:
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float
    playlist_key: str
    vmaf: float | None


@dataclass(frozen=True)
class AudioInfo:
    language: str
    name: str
    bandwidth: int
    average_bandwidth: int
    playlist_key: str


@dataclass(frozen=True)
class SubtitleInfo:
    language: str
    label: str
    playlist_key: str
    vtt_key: str


@dataclass(frozen=True)
class AssetMedia:
    asset_id: int
    content_key: str  # the one path prefix every key below starts with
    duration: float
    renditions: tuple[RenditionInfo, ...]  # ascending height
    subtitles: tuple[SubtitleInfo, ...]
    # The audio group (source stream order); empty for a source without sound or an asset
    # encoded before audio had its own renditions (its variants carry their sound).
    audio: tuple[AudioInfo, ...]
    poster_key: str
    sprite_key: str
    thumbnails_vtt_key: str


def _ready_with_children():
    return (
        MediaAsset.objects.ready()
        .prefetch_related(
            Prefetch("renditions", queryset=Rendition.objects.order_by("height")),
            Prefetch("subtitles", queryset=Subtitle.objects.order_by("language")),
            Prefetch("audio_renditions", queryset=AudioRendition.objects.order_by("position")),
        )
        .order_by("-ready_at", "-pk")
    )


def has_ready_asset(*, title_id: int, episode_id: int | None = None) -> bool:
    """Whether ready_asset_for_title/_episode would find one: one EXISTS query."""
    if episode_id is not None:
        return MediaAsset.objects.ready().filter(episode_id=episode_id).exists()
    return MediaAsset.objects.ready().filter(title_id=title_id).exists()


def ready_asset_for_title(title: Title | int) -> MediaAsset | None:
    """The newest ready asset of a movie, renditions and subtitles prefetched."""
    title_id = title.pk if isinstance(title, Title) else title
    return _ready_with_children().filter(title_id=title_id).first()


def ready_asset_for_episode(episode: Episode | int) -> MediaAsset | None:
    episode_id = episode.pk if isinstance(episode, Episode) else episode
    return _ready_with_children().filter(episode_id=episode_id).first()


def ready_assets_by_title(title_ids: Sequence[int]) -> dict[int, MediaAsset]:
    """{title_id: asset} for many titles in one query (rows, posters)."""
    found: dict[int, MediaAsset] = {}
    for asset in MediaAsset.objects.ready().filter(title_id__in=title_ids).order_by("ready_at"):
        assert asset.title_id is not None
        found[asset.title_id] = asset
    return found


def _served_renditions(asset: MediaAsset) -> list[Rendition]:
    return sorted(
        (r for r in asset.renditions.all() if r.version == asset.ready_version),
        key=lambda r: r.height,
    )


def _rendition_info(r: Rendition) -> RenditionInfo:
    return RenditionInfo(
        width=r.width,
        height=r.height,
        bandwidth=r.bandwidth,
        average_bandwidth=r.average_bandwidth,
        codecs=r.codecs,
        frame_rate=r.frame_rate,
        playlist_key=r.playlist_key,
        vmaf=r.vmaf,
    )


def _audio_info(a: AudioRendition) -> AudioInfo:
    return AudioInfo(
        language=a.language,
        name=a.name,
        bandwidth=a.bandwidth,
        average_bandwidth=a.average_bandwidth,
        playlist_key=a.playlist_key,
    )


def _subtitle_info(prefix: str, language: str, label: str) -> SubtitleInfo:
    return SubtitleInfo(
        language=language,
        label=label,
        playlist_key=f"{prefix}/subs/{language}.m3u8",
        vtt_key=f"{prefix}/subs/{language}.vtt",
    )


def asset_media(asset: MediaAsset) -> AssetMedia:
    """Everything playback needs about a ready asset, as storage keys under one prefix."""
    prefix = asset.content_key
    return AssetMedia(
        asset_id=asset.pk,
        content_key=prefix,
        duration=asset.duration or 0.0,
        renditions=tuple(_rendition_info(r) for r in _served_renditions(asset)),
        subtitles=tuple(_subtitle_info(prefix, s.language, s.label) for s in asset.subtitles.all()),
        poster_key=asset.poster_key,
        sprite_key=asset.sprite_key,
        thumbnails_vtt_key=asset.thumbnails_vtt_key,
        audio=tuple(
            _audio_info(a)
            for a in sorted(
                (a for a in asset.audio_renditions.all() if a.version == asset.ready_version),
                key=lambda a: a.position,
            )
        ),
    )


# A ready version's renditions and audio, per process: (asset id, version, content key) ->
# (renditions, audio). They are written once, in the transaction that makes the version the
# ready one (`_publish`), and never rewritten: a new encode is a new version (with a new
# content key), and the rows of old versions are deleted, not changed.
_VersionMedia = tuple[tuple[RenditionInfo, ...], tuple[AudioInfo, ...]]
_version_copies: dict[tuple[int, int, str], _VersionMedia] = {}
_VERSION_COPIES_MAX = 2000
_version_lock = threading.Lock()


def _version_media(asset_id: int, version: int, content_key: str) -> _VersionMedia:
    key = (asset_id, version, content_key)
    found = _version_copies.get(key)
    if found is not None:
        return found
    renditions = tuple(
        _rendition_info(r)
        for r in Rendition.objects.filter(asset_id=asset_id, version=version).order_by(
            "height", "pk"
        )
    )
    audio = tuple(
        _audio_info(a)
        for a in AudioRendition.objects.filter(asset_id=asset_id, version=version).order_by(
            "position", "pk"
        )
    )
    with _version_lock:
        if len(_version_copies) >= _VERSION_COPIES_MAX:
            _version_copies.clear()
        _version_copies[key] = (renditions, audio)
    return renditions, audio


def forget_version_copies() -> None:
    """Drop this process's copies of ready versions (tests)."""
    with _version_lock:
        _version_copies.clear()


def _ready_rows(**owner: int) -> QuerySet[MediaAsset, Any]:
    """The ready assets of one movie or episode, newest first, one row per subtitle (or one
    without): the first asset's rows are the leading ones. A title has one ready asset as a
    rule; a plain join builds and runs cheaper than a subquery for the newest."""
    return (
        MediaAsset.objects.ready()
        .filter(**owner)
        .order_by("-ready_at", "-pk", "subtitles__language")
        # ready_copies.READ_FIELDS: what a change to must bump the copies' version
        .values_list("pk", *ready_copies.READ_FIELDS, "subtitles__language", "subtitles__label")
    )


# Compiled once per process: every playback start runs one of them.
_ready_rows_of_title = prebuilt.ValuesQuery(lambda title_id: _ready_rows(title_id=title_id))
_ready_rows_of_episode = prebuilt.ValuesQuery(lambda episode_id: _ready_rows(episode_id=episode_id))


def ready_asset_media(
    *, title_id: int | None = None, episode_id: int | None = None
) -> AssetMedia | None:
    """`asset_media` of the newest ready asset of a movie (`title_id`) or an episode; None
    when there is none. From this process's copy while nothing it holds has changed
    (media.ready_copies: no query); else one query once this process has seen the ready
    version: the asset row and its subtitles (a LEFT JOIN), the version's renditions and
    audio from this process's copy of the version (two more queries the first time)."""
    if episode_id is not None:
        episode = episode_id
        return ready_copies.copied(
            "episode", episode, lambda: _ready_media(_ready_rows_of_episode(episode))
        )
    if title_id is not None:
        title = title_id
        return ready_copies.copied(
            "title", title, lambda: _ready_media(_ready_rows_of_title(title))
        )
    raise TypeError("ready_asset_media needs a title_id or an episode_id")


def _ready_media(rows: list[tuple[Any, ...]]) -> AssetMedia | None:
    rows = [row for row in rows if row[0] == rows[0][0]] if rows else rows
    if not rows:
        return None
    pk, version, prefix, duration, poster_key, sprite_key, vtt_key = rows[0][:7]
    assert version is not None  # ready() asks for a ready version
    renditions, audio = _version_media(pk, version, prefix)
    return AssetMedia(
        asset_id=pk,
        content_key=prefix,
        duration=duration or 0.0,
        renditions=renditions,
        subtitles=tuple(
            _subtitle_info(prefix, language, label)
            for *_, language, label in rows
            if language is not None
        ),
        poster_key=poster_key,
        sprite_key=sprite_key,
        thumbnails_vtt_key=vtt_key,
        audio=audio,
    )


def build_master_playlist(
    asset: MediaAsset, *, max_height: int | None, uri_for: Callable[[str], str]
) -> str:
    """The HLS master playlist of a ready asset, renditions up to `max_height` (plan cap).

    Every URI is `uri_for(storage_key)`, so playback can sign them. If the cap is below the
    smallest rendition, the smallest is still listed (a plan never gets nothing).
    """
    media = asset_media(asset)
    renditions = [r for r in media.renditions if max_height is None or r.height <= max_height]
    if not renditions and media.renditions:
        renditions = [media.renditions[0]]
    return playlists.master_playlist(
        variants=[variant_of(r) for r in renditions],  # ascending: players start on the first
        subtitles=[subtitle_track_of(s) for s in media.subtitles],
        audio=[audio_track_of(a) for a in media.audio],
        locations=[uri_for],
    )


def variant_of(rendition: RenditionInfo, *, uri: str | None = None) -> playlists.Variant:
    """A rendition as the playlist builder lists it (`uri` defaults to its storage key)."""
    return playlists.Variant(
        uri=uri if uri is not None else rendition.playlist_key,
        bandwidth=rendition.bandwidth,
        width=rendition.width,
        height=rendition.height,
        average_bandwidth=rendition.average_bandwidth,
        codecs=rendition.codecs,
        frame_rate=rendition.frame_rate,
    )


def audio_track_of(audio: AudioInfo, *, uri: str | None = None) -> playlists.AudioTrack:
    """An audio rendition as the playlist builder lists it (`uri` defaults to its storage key)."""
    return playlists.AudioTrack(
        uri=uri if uri is not None else audio.playlist_key,
        language=audio.language,
        name=audio.name,
        bandwidth=audio.bandwidth,
        average_bandwidth=audio.average_bandwidth,
    )


def subtitle_track_of(sub: SubtitleInfo, *, uri: str | None = None) -> playlists.SubtitleTrack:
    return playlists.SubtitleTrack(
        uri=uri if uri is not None else sub.playlist_key,
        language=sub.language,
        name=sub.label or sub.language,
    )


def relative_uri(asset: MediaAsset) -> Callable[[str], str]:
    """uri_for that makes keys relative to the asset's prefix (for the stored master)."""
    prefix = asset.content_key.rstrip("/") + "/"
    return lambda key: key[len(prefix) :] if key.startswith(prefix) else key


def write_static_master(asset: MediaAsset) -> str:
    """Store `<prefix>/master.m3u8` with relative URIs (admin preview, plain CDN use)."""
    key = f"{asset.content_key}/master.m3u8"
    fresh = (
        MediaAsset.objects.filter(pk=asset.pk)
        .prefetch_related("renditions", "subtitles", "audio_renditions")
        .get()
    )
    body = build_master_playlist(fresh, max_height=None, uri_for=relative_uri(fresh))
    if default_storage.exists(key):
        default_storage.delete(key)
    default_storage.save(key, ContentFile(body.encode()))
    return key


# --- staff screens ---------------------------------------------------------------------------


def assets_for_staff():
    """Every asset for the staff list, owners and children fetched in a fixed number of queries."""
    return MediaAsset.objects.select_related("title", "episode__season__title").prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("height")),
        Prefetch("subtitles", queryset=Subtitle.objects.order_by("language")),
    )


def asset_for_staff(asset_id: int) -> MediaAsset | None:
    return assets_for_staff().filter(pk=asset_id).first()
