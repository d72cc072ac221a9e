"""HLS playlists, written and read with the m3u8 package: Streamsite's one playlist builder.

The pipeline's stored master, a playback session's capped master (one copy per ranked edge:
HLS redundant variant streams, which players fail over between) and subtitle playlists are all
made here; playlists are read with `m3u8.loads`, never with regular expressions.

Audio is its own rendition group (EXT-X-MEDIA TYPE=AUDIO, one entry per language): video
variants carry no sound and name the group with AUDIO="...". Their BANDWIDTH and
AVERAGE-BANDWIDTH are written as the video's plus the group's largest, as RFC 8216 asks (the
bits a player needs to play the variant with any of its audio renditions).
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
class AudioTrack:
    """One rendition of the audio group; `uri` is relative to the asset."""

    uri: str
    language: str
    name: str
    bandwidth: int = 0
    average_bandwidth: int = 0
    channels: int = 2


@dataclass(frozen=True)
class SubtitleTrack:
    uri: str
    language: str
    name: str
    default: bool = False


def _group(location: int, name: str = "subs") -> str:
    # Each copy has its own groups, so a dead edge's audio and subtitles fail over with its video.
    return name if location == 0 else f"{name}-{location + 1}"


def master_playlist(
    *,
    variants: Sequence[Variant],
    subtitles: Sequence[SubtitleTrack] = (),
    audio: Sequence[AudioTrack] = (),
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
    extra_peak = max((track.bandwidth for track in audio), default=0)
    extra_average = max((track.average_bandwidth for track in audio), default=0)
    for index, uri_for in enumerate(locations):
        group = _group(index) if subtitles else None
        audio_group = _group(index, "audio") if audio else None
        for i, sound in enumerate(audio):
            playlist.add_media(
                m3u8.Media(
                    uri=uri_for(sound.uri),
                    type="AUDIO",
                    group_id=audio_group,
                    language=sound.language,
                    name=sound.name,
                    default="YES" if i == 0 else "NO",
                    autoselect="YES",
                    channels=str(sound.channels),
                )
            )
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
            info: dict[str, object] = {"bandwidth": variant.bandwidth + extra_peak}
            if variant.average_bandwidth:
                info["average_bandwidth"] = variant.average_bandwidth + extra_average
            if variant.width and variant.height:
                info["resolution"] = f"{variant.width}x{variant.height}"
            if variant.frame_rate:
                info["frame_rate"] = round(variant.frame_rate, 3)
            if variant.codecs:
                info["codecs"] = variant.codecs
            if audio_group:
                info["audio"] = audio_group
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
    """The variants (ascending height, then bandwidth) and subtitle tracks of a master.

    BANDWIDTH is read as written (audio group included); `read_audio` gives the group."""
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


def read_audio(text: str) -> list[AudioTrack]:
    """The first audio group of a master (its redundant copies are the same renditions)."""
    parsed = m3u8.loads(text)
    sounds = [m for m in parsed.media if m.type == "AUDIO" and m.uri]
    first = sounds[0].group_id if sounds else None
    return [
        AudioTrack(
            uri=m.uri,
            language=m.language or "und",
            name=m.name or m.language or "",
            channels=int(m.channels) if m.channels and m.channels.isdigit() else 2,
        )
        for m in sounds
        if m.group_id == first
    ]


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
