"""HLS playlists, written and read with the m3u8 package: Streamsite's one playlist builder.

The pipeline's stored master, a playback session's capped master (one copy per ranked edge:
HLS redundant variant streams, which players fail over between) and subtitle playlists are all
made here; playlists are read with `m3u8.loads`, never with regular expressions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import m3u8

# EXT-X-VERSION 4 covers everything written here (FRAME-RATE, INDEPENDENT-SEGMENTS, SUBTITLES).
VERSION = 4


@dataclass(frozen=True)
class Variant:
    """One rendition as a master playlist lists it; `uri` is relative to the asset."""

    uri: str
    bandwidth: int
    width: int = 0
    height: int = 0
    average_bandwidth: int | None = None
    codecs: str | None = None
    frame_rate: float | None = None


@dataclass(frozen=True)
class SubtitleTrack:
    uri: str
    language: str
    name: str
    default: bool = False


def _group(location: int) -> str:
    # Each copy has its own subtitle group, so a dead edge's subtitles fail over with its video.
    return "subs" if location == 0 else f"subs-{location + 1}"


def master_playlist(
    *,
    variants: Sequence[Variant],
    subtitles: Sequence[SubtitleTrack] = (),
    locations: Sequence[Callable[[str], str]],
) -> str:
    """A master playlist listing every variant once per location, best location first.

    A location turns a URI relative to the asset into the URI written (signed, on one edge).
    Variants keep their order (ascending height: players start on the first); copies after the
    first carry the same attributes, which makes them redundant streams of the first.
    """
    if not locations:
        raise ValueError("A master playlist needs at least one location.")
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    playlist.is_independent_segments = True
    for index, uri_for in enumerate(locations):
        group = _group(index) if subtitles else None
        for i, track in enumerate(subtitles):
            playlist.add_media(
                m3u8.Media(
                    uri=uri_for(track.uri),
                    type="SUBTITLES",
                    group_id=group,
                    language=track.language,
                    name=track.name,
                    default="YES" if i == 0 and track.default else "NO",
                    autoselect="YES",
                    forced="NO",
                )
            )
        for variant in variants:
            info: dict[str, object] = {"bandwidth": variant.bandwidth}
            if variant.average_bandwidth:
                info["average_bandwidth"] = variant.average_bandwidth
            if variant.width and variant.height:
                info["resolution"] = f"{variant.width}x{variant.height}"
            if variant.frame_rate:
                info["frame_rate"] = round(variant.frame_rate, 3)
            if variant.codecs:
                info["codecs"] = variant.codecs
            if group:
                info["subtitles"] = group
            playlist.add_playlist(
                # the group is written from the media entries it names
                m3u8.Playlist(
                    uri_for(variant.uri), stream_info=info, media=playlist.media, base_uri=None
                )
            )
    return playlist.dumps()


def read_master(text: str) -> tuple[list[Variant], list[SubtitleTrack]]:
    """The variants (ascending height, then bandwidth) and subtitle tracks of a master."""
    parsed = m3u8.loads(text)
    variants = []
    for item in parsed.playlists:
        info = item.stream_info
        width, height = info.resolution or (0, 0)
        variants.append(
            Variant(
                uri=item.uri,
                bandwidth=int(info.bandwidth or 0),
                width=int(width),
                height=int(height),
                average_bandwidth=info.average_bandwidth,
                codecs=info.codecs,
                frame_rate=info.frame_rate,
            )
        )
    tracks = [
        SubtitleTrack(
            uri=media.uri,
            language=media.language or "",
            name=media.name or media.language or "",
            default=media.default == "YES",
        )
        for media in parsed.media
        if media.type == "SUBTITLES" and media.uri
    ]
    return sorted(variants, key=lambda v: (v.height, v.bandwidth)), tracks


def subtitle_playlist(vtt_name: str, duration: float) -> str:
    """A VOD media playlist of one WebVTT file covering `duration` seconds."""
    playlist = m3u8.M3U8()
    playlist.version = 3
    playlist.target_duration = max(1, math.ceil(duration))
    playlist.media_sequence = 0
    playlist.playlist_type = "vod"
    playlist.is_endlist = True
    playlist.add_segment(m3u8.Segment(uri=vtt_name, duration=round(duration, 3)))
    return playlist.dumps()
