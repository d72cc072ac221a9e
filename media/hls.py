"""Encode a ladder into HLS with one ffmpeg run, then read back what was made."""

from __future__ import annotations

import json
import math
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import m3u8

from media import ffmpeg
from media.ladder import AUDIO_BITRATE, Rung
from media.playlists import subtitle_playlist as subtitle_playlist  # the one builder
from media.probe import ProbeResult

LOUDNORM = "loudnorm=I=-23:TP=-2:LRA=11"


@dataclass(frozen=True)
class EncodeSettings:
    segment_seconds: int = 4
    preset: str = "veryfast"
    loudnorm: bool = True
    # Per-title ladders encode at constant quality capped by each rung's rate ("capped CRF"):
    # easy content takes only the bits it needs. None: average bitrate (the fixed ladder).
    crf: int | None = None


@dataclass(frozen=True)
class AudioInfo:
    """One rendition of the audio group: a language's AAC track in its own folder."""

    language: str  # the source stream's tag, e.g. "eng", or "und"
    name: str  # what a player's menu shows, e.g. "English"
    directory: str  # relative, e.g. "audio_eng"
    bitrate: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    size_bytes: int
    segment_count: int
    segment_durations: tuple[float, ...]


@dataclass(frozen=True)
class VariantInfo:
    rung: Rung
    directory: str  # relative, e.g. "360p"
    bandwidth: int
    average_bandwidth: int
    codecs: str
    size_bytes: int
    segment_count: int
    segment_durations: tuple[float, ...]


def rung_name(rung: Rung) -> str:
    return f"{rung.height}p"


AUDIO_PREFIX = "audio_"


def audio_names(languages: Sequence[str]) -> list[tuple[str, str]]:
    """(folder, menu name) per audio stream: `audio_eng`, "English"; a language met again gets
    `audio_eng_2`, "English 2"; untagged streams are "Original" (then "Audio 2", ...)."""
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for language in languages:
        safe = "".join(c for c in language.lower() if c.isalnum() or c == "-") or "und"
        seen[safe] = seen.get(safe, 0) + 1
        count = seen[safe]
        folder = f"{AUDIO_PREFIX}{safe}" + (f"_{count}" if count > 1 else "")
        if safe == "und":
            name = "Original" if count == 1 else f"Audio {count}"
        else:
            name = language_name(safe) + (f" {count}" if count > 1 else "")
        out.append((folder, name))
    return out


def language_name(tag: str) -> str:
    """A language's own name for itself ("English", "Español"), from Babel's CLDR data; the
    tag itself when Babel does not know it. ISO 639-2 tags (spa, ger) are mapped first."""
    from babel import Locale, UnknownLocaleError
    from babel.core import get_global

    code = get_global("language_aliases").get(tag, tag).replace("-", "_")
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return tag
    name = locale.get_display_name(locale) or tag
    return name[:1].upper() + name[1:]


def encode_args(
    source_path: str, source: ProbeResult, rungs: Sequence[Rung], out_dir: Path, cfg: EncodeSettings
) -> list[str]:
    """One decode, split to every rung: aligned closed GOPs of `segment_seconds` each."""
    n = len(rungs)
    seg = cfg.segment_seconds
    gop = max(1, int(round(source.frame_rate * seg)))
    parts = [f"[0:v:0]format=yuv420p,split={n}" + "".join(f"[s{i}]" for i in range(n))]
    for i, rung in enumerate(rungs):
        parts.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1[v{i}]")
    # Audio is its own rendition group: every source audio stream is encoded once, to its own
    # folder, and the video variants carry none (they reference the group in the master).
    tracks = audio_names(source.audio_tracks)
    normalise = f"{LOUDNORM}," if cfg.loudnorm else ""
    for j in range(len(tracks)):
        parts.append(f"[0:a:{j}]{normalise}aresample=48000[a{j}]")
    args = ["-i", source_path, "-filter_complex", ";".join(parts)]
    stream_map = []
    for i, rung in enumerate(rungs):
        args += ["-map", f"[v{i}]"]
        stream_map.append(f"v:{i},name:{rung_name(rung)}")
    for j, (folder, _) in enumerate(tracks):
        args += ["-map", f"[a{j}]"]
        stream_map.append(f"a:{j},name:{folder}")
    args += ["-c:v", "libx264", "-preset", cfg.preset, "-profile:v", "high"]
    if cfg.crf is not None:
        args += ["-crf", str(cfg.crf)]
    for i, rung in enumerate(rungs):
        if cfg.crf is None:
            args += [f"-b:v:{i}", str(rung.bitrate)]
        args += [
            f"-maxrate:v:{i}",
            str(int(rung.bitrate * 1.5)),
            f"-bufsize:v:{i}",
            str(int(rung.bitrate * 2)),
        ]
    args += [
        "-g",
        str(gop),
        "-keyint_min",
        str(gop),
        "-sc_threshold",
        "0",
        "-flags",
        "+cgop",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{seg})",
    ]
    if tracks:
        args += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", "48000"]
    args += [
        "-f",
        "hls",
        "-hls_time",
        str(seg),
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        str(out_dir / "%v" / "seg_%05d.ts"),
        "-var_stream_map",
        " ".join(stream_map),
        str(out_dir / "%v" / "index.m3u8"),
    ]
    return args


_PROFILES = {
    "constrained baseline": (66, 0xE0),
    "baseline": (66, 0x00),
    "main": (77, 0x40),
    "high": (100, 0x00),
}


def avc_codec_string(segment: Path) -> str:
    """RFC 6381 codec string of the H.264 stream in a segment, e.g. avc1.64001f."""
    done = subprocess.run(
        [
            ffmpeg.ffprobe_binary(),
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=profile,level",
            "-of",
            "json",
            str(segment),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    stream = (json.loads(done.stdout or "{}").get("streams") or [{}])[0]
    idc, constraint = _PROFILES.get(str(stream.get("profile", "high")).lower(), (100, 0))
    level = int(stream.get("level") or 40)
    return f"avc1.{idc:02x}{constraint:02x}{level:02x}"


AAC_LC = "mp4a.40.2"


@dataclass(frozen=True)
class _Measured:
    bandwidth: int
    average_bandwidth: int
    size_bytes: int
    durations: tuple[float, ...]
    first_segment: Path


def _measure_folder(folder: Path) -> _Measured:
    playlist = m3u8.load(str(folder / "index.m3u8"))
    peak = 0.0
    total_bits = 0
    total_seconds = 0.0
    durations: list[float] = []
    for segment in playlist.segments:
        bits = (folder / segment.uri).stat().st_size * 8
        seconds = float(segment.duration or 0) or 0.001
        durations.append(seconds)
        # A short last segment overstates the peak; judge it over a full segment length.
        peak = max(peak, bits / max(seconds, min(durations[0], 1.0)))
        total_bits += bits
        total_seconds += seconds
    return _Measured(
        bandwidth=int(math.ceil(peak)),
        average_bandwidth=int(math.ceil(total_bits / max(total_seconds, 0.001))),
        size_bytes=total_bits // 8,
        durations=tuple(durations),
        first_segment=folder / playlist.segments[0].uri,
    )


def read_variant(out_dir: Path, rung: Rung, *, has_audio: bool) -> VariantInfo:
    """A video rendition as written. Its CODECS name the audio group's codec too (`has_audio`):
    a master's EXT-X-STREAM-INF lists every codec the variant plays, its audio group's included.
    """
    directory = rung_name(rung)
    measured = _measure_folder(out_dir / directory)
    codecs = avc_codec_string(measured.first_segment) + (f",{AAC_LC}" if has_audio else "")
    return VariantInfo(
        rung=rung,
        directory=directory,
        bandwidth=measured.bandwidth,
        average_bandwidth=measured.average_bandwidth,
        codecs=codecs,
        size_bytes=measured.size_bytes,
        segment_count=len(measured.durations),
        segment_durations=measured.durations,
    )


def read_audio(out_dir: Path, *, language: str, name: str, directory: str) -> AudioInfo:
    measured = _measure_folder(out_dir / directory)
    return AudioInfo(
        language=language,
        name=name,
        directory=directory,
        bitrate=AUDIO_BITRATE,
        bandwidth=measured.bandwidth,
        average_bandwidth=measured.average_bandwidth,
        codecs=AAC_LC,
        size_bytes=measured.size_bytes,
        segment_count=len(measured.durations),
        segment_durations=measured.durations,
    )


def encode(
    source_path: str,
    source: ProbeResult,
    rungs: Sequence[Rung],
    out_dir: Path,
    cfg: EncodeSettings,
    *,
    on_progress: Callable[[float], bool] | None = None,
    check: Callable[[list[str], list[str]], object] | None = None,
) -> Encoded:
    """Run the ladder encode: the video variants, the audio group, the command and log tail.

    `check(video_directories, audio_directories)` sees what ffmpeg wrote before it is read
    (it raises to refuse it).
    """
    tracks = audio_names(source.audio_tracks)
    for directory in [rung_name(rung) for rung in rungs] + [folder for folder, _ in tracks]:
        (out_dir / directory).mkdir(parents=True, exist_ok=True)
    args = encode_args(source_path, source, rungs, out_dir, cfg)
    command = ffmpeg.command_text([ffmpeg.ffmpeg_binary(), *args])
    result = ffmpeg.run(args, duration=source.duration, on_progress=on_progress)
    if check is not None:
        check([rung_name(rung) for rung in rungs], [folder for folder, _ in tracks])
    variants = [read_variant(out_dir, rung, has_audio=bool(tracks)) for rung in rungs]
    audio = [
        read_audio(out_dir, language=language, name=name, directory=folder)
        for language, (folder, name) in zip(source.audio_tracks, tracks, strict=True)
    ]
    return Encoded(variants, audio, command, result.log_tail)


@dataclass(frozen=True)
class Encoded:
    variants: list[VariantInfo]  # ascending height, video only
    audio: list[AudioInfo]  # the audio group, in source stream order; empty without sound
    command: str
    log_tail: str


# --- extras -----------------------------------------------------------------------------------


def make_poster(source_path: str, source: ProbeResult, out: Path) -> None:
    at = min(source.duration * 0.25, max(0.0, source.duration - 0.5))
    height = min(720, source.height)
    ffmpeg.run(
        [
            "-ss",
            f"{at:.3f}",
            "-i",
            source_path,
            "-frames:v",
            "1",
            "-vf",
            f"scale=-2:{height}",
            "-q:v",
            "3",
            str(out),
        ],
        timeout=120,
    )


@dataclass(frozen=True)
class TrickplayPlan:
    interval: float
    count: int
    columns: int
    rows: int
    width: int
    height: int


def trickplay_plan(
    source: ProbeResult, *, max_thumbs: int = 100, width: int = 160
) -> TrickplayPlan:
    interval = max(1.0, math.ceil(source.duration / max_thumbs))
    count = max(1, int(math.ceil(source.duration / interval)))
    columns = min(10, count)
    rows = int(math.ceil(count / columns))
    height = even(width * source.height / source.width)
    return TrickplayPlan(interval, count, columns, rows, width, height)


def even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def make_trickplay(
    input_path: str, source: ProbeResult, sprite: Path, vtt: Path, sprite_name: str
) -> TrickplayPlan:
    """A sprite sheet of thumbnails every `interval` seconds and the WebVTT that maps them."""
    plan = trickplay_plan(source)
    ffmpeg.run(
        [
            "-i",
            input_path,
            "-vf",
            f"fps=1/{plan.interval},scale={plan.width}:{plan.height},"
            f"tile={plan.columns}x{plan.rows}",
            "-frames:v",
            "1",
            "-q:v",
            "4",
            str(sprite),
        ],
        timeout=600,
    )
    lines = ["WEBVTT", ""]
    for i in range(plan.count):
        start, end = i * plan.interval, min(source.duration, (i + 1) * plan.interval)
        x, y = (i % plan.columns) * plan.width, (i // plan.columns) * plan.height
        lines += [
            f"{vtt_time(start)} --> {vtt_time(end)}",
            f"{sprite_name}#xywh={x},{y},{plan.width},{plan.height}",
            "",
        ]
    vtt.write_text("\n".join(lines), encoding="utf-8")
    return plan


def vtt_time(seconds: float) -> str:
    millis = int(round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


# --- quality -----------------------------------------------------------------------------------

_VMAF = re.compile(r"VMAF score:\s*([0-9.]+)")
_SSIM = re.compile(r"SSIM .*All:([0-9.]+)")


@dataclass(frozen=True)
class Quality:
    vmaf: float | None
    ssim: float | None


def measure_quality(
    distorted: str, reference: str, *, width: int, height: int, seconds: float, threads: int = 2
) -> Quality:
    """Compare a rendition with the source (both scaled to the source size) on a sample."""
    binary, metric = ffmpeg.quality_binary()
    scale = f"scale={width}:{height}:flags=bicubic,format=yuv420p,setpts=PTS-STARTPTS"
    compare = f"libvmaf=n_threads={threads}:n_subsample=5" if metric == "vmaf" else "ssim"
    args = [
        binary,
        "-hide_banner",
        "-nostdin",
        "-t",
        f"{seconds:.3f}",
        "-i",
        distorted,
        "-t",
        f"{seconds:.3f}",
        "-i",
        reference,
        "-lavfi",
        f"[0:v]{scale}[d];[1:v]{scale}[r];[d][r]{compare}",
        "-f",
        "null",
        "-",
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=max(120, seconds * 20))
    if done.returncode != 0:
        raise ffmpeg.FfmpegFailed("quality measurement failed", log_tail=done.stderr[-2000:])
    if metric == "vmaf":
        found = _VMAF.search(done.stderr)
        return Quality(vmaf=round(float(found.group(1)), 2) if found else None, ssim=None)
    found = _SSIM.search(done.stderr)
    return Quality(vmaf=None, ssim=round(float(found.group(1)), 4) if found else None)
