"""Check an encoded ladder is whole before it is published.

ffmpeg exits 0 on a source that ends early (an MP4 cut after its index: "corrupt input
packet"), so its exit status proves nothing. Each rendition is read back: every segment the
playlist lists is present and non-empty, the folder holds no segment the playlist does not
list, every segment decodes to frames without an error, and the rendition decodes to the
source's probed duration within one segment. The audio group's renditions are checked the same
way, on their audio frames.
"""

from __future__ import annotations

import bisect
import itertools
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from media import ffmpeg


class Incomplete(Exception):
    """The encode is not whole; the message is the job's reason, shown to the uploader."""


@dataclass(frozen=True)
class RenditionCheck:
    name: str
    decoded_seconds: float
    problem: str  # "" when whole


@dataclass(frozen=True)
class Decoded:
    seconds: float  # first decoded frame to the end of the last
    frames_per_segment: tuple[int, ...]
    error: str  # the first decode error ffprobe reported, or ""


def decode(playlist: Path, *, stream: str = "v:0", timeout: float = 3600) -> Decoded:
    """Decode a rendition's `stream` (video, or "a:0" for an audio rendition; every segment,
    through its playlist) and place each frame in the segment whose time window holds it."""
    is_playlist = playlist.suffix == ".m3u8"  # else a plain file: its length only
    durations = (
        [float(s.duration or 0) for s in m3u8.load(str(playlist)).segments] if is_playlist else []
    )
    done = subprocess.run(
        [ffmpeg.ffprobe_binary(), "-v", "error", "-select_streams", stream]
        + ["-show_entries", "frame=best_effort_timestamp_time,duration_time"]
        + ["-of", "csv=p=0", str(playlist)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    times: list[tuple[float, float]] = []
    for line in done.stdout.splitlines():
        raw_at, _, raw_length = line.strip().rstrip(",").partition(",")
        try:
            times.append((float(raw_at), float(raw_length or 0)))
        except ValueError:
            continue
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode != 0 and not errors:
        errors = [f"ffprobe exited with {done.returncode}"]
    counts = [0] * len(durations)
    if not times:
        return Decoded(0.0, tuple(counts), errors[0][:200] if errors else "")
    first = times[0][0]
    bounds = list(itertools.accumulate(durations))
    for at, _length in times if counts else ():
        index = bisect.bisect_right(bounds, at - first + 0.001)
        counts[min(index, len(counts) - 1)] += 1
    last_at, last_length = times[-1]
    return Decoded(
        round(last_at + last_length - first, 3),
        tuple(counts),
        errors[0][:200] if errors else "",
    )


def check_rendition(
    directory: Path,
    *,
    source_seconds: float,
    segment_seconds: float,
    beat: Callable[[], bool] | None = None,
    audio: bool = False,
) -> RenditionCheck:
    name = directory.name
    playlist_path = directory / "index.m3u8"
    if not playlist_path.is_file():
        return RenditionCheck(name, 0.0, f"rendition {name} has no playlist")
    playlist = m3u8.load(str(playlist_path))
    listed = [segment.uri for segment in playlist.segments]
    if not listed:
        return RenditionCheck(name, 0.0, f"rendition {name} lists no segments")
    missing = [uri for uri in listed if not (directory / uri).is_file()]
    empty = [uri for uri in listed if uri not in missing and (directory / uri).stat().st_size == 0]
    if missing or empty:
        bad = (missing + empty)[0]
        return RenditionCheck(
            name,
            0.0,
            f"rendition {name}: {len(missing)} of {len(listed)} segments missing, "
            f"{len(empty)} empty (first: {bad})",
        )
    written = sorted(p.name for p in directory.glob("*.ts"))
    if len(written) != len(listed):
        return RenditionCheck(
            name,
            0.0,
            f"rendition {name}: the playlist lists {len(listed)} segments, "
            f"{len(written)} were written",
        )
    try:
        decoded = decode(playlist_path, stream="a:0" if audio else "v:0")
    except subprocess.TimeoutExpired:
        return RenditionCheck(name, 0.0, f"rendition {name}: decoding it timed out")
    seconds = decoded.seconds
    if beat is not None and not beat():
        raise ffmpeg.FfmpegCancelled("cancelled")
    if decoded.error:
        return RenditionCheck(
            name, seconds, f"rendition {name} does not decode cleanly: {decoded.error}"
        )
    dead = [uri for uri, count in zip(listed, decoded.frames_per_segment, strict=True) if not count]
    if dead:
        return RenditionCheck(
            name,
            seconds,
            f"rendition {name}: {len(dead)} of {len(listed)} segments decode to no "
            f"{'sound' if audio else 'picture'} "
            f"(first: {dead[0]})",
        )
    if seconds < source_seconds - segment_seconds:
        return RenditionCheck(
            name,
            seconds,
            f"rendition {name} decodes {seconds:.1f} s of {source_seconds:.1f} s",
        )
    return RenditionCheck(name, seconds, "")


def verify_ladder(
    out_dir: Path,
    directories: list[str],
    *,
    source_seconds: float,
    segment_seconds: float,
    beat: Callable[[], bool] | None = None,
    audio_directories: Sequence[str] = (),
) -> list[RenditionCheck]:
    """Check every rendition, video (`directories`) and audio (`audio_directories`); raise
    Incomplete with the uploader's reason if any is not whole.

    Every rendition short by the same cut means the source itself ends early: that is the
    reason given ("file is truncated: 11.9 s of 24.0 s decode"), not a rendition's.
    """
    checks = [
        check_rendition(
            out_dir / name,
            source_seconds=source_seconds,
            segment_seconds=segment_seconds,
            beat=beat,
            audio=audio,
        )
        for name, audio in [(d, False) for d in directories]
        + [(d, True) for d in audio_directories]
    ]
    bad = [c for c in checks if c.problem]
    if not bad:
        return checks
    short = [c for c in checks if 0 < c.decoded_seconds < source_seconds - segment_seconds]
    if len(short) == len(checks):
        longest = max(c.decoded_seconds for c in checks)
        raise Incomplete(
            f"file is truncated: {longest:.1f} s of {source_seconds:.1f} s decode "
            "(the source ends early; upload the whole file again)"
        )
    raise Incomplete("the encode is incomplete: " + "; ".join(c.problem for c in bad))
