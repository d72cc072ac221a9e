"""ffprobe a source and turn what it says into facts or a readable refusal."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from media.ffmpeg import ffprobe_binary


class NotMedia(Exception):
    """The file cannot be encoded; the message is shown to staff as the job's reason."""


@dataclass(frozen=True)
class ProbeResult:
    duration: float
    width: int
    height: int
    frame_rate: float
    video_codec: str
    audio_codec: str
    audio_channels: int | None
    # The language tag of every audio stream, in stream order ("und" when untagged): each
    # becomes one rendition of the audio group. Empty for a source without sound.
    audio_languages: tuple[str, ...] = ()

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codec)

    @property
    def audio_tracks(self) -> tuple[str, ...]:
        """The audio streams to encode, by language tag (one "und" if the probe named none)."""
        if not self.has_audio:
            return ()
        return self.audio_languages or ("und",)


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate) if rate > 0 else 0.0


def _looks_like_mp4(path: Path | str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(12)[4:8] == b"ftyp"
    except OSError:
        return False


def _refusal(stderr: str, path: Path | str) -> str:
    text = stderr.lower()
    # A text file named .mp4 also lacks a moov atom: only a real MP4 header means truncation.
    if "moov atom not found" in text and not _looks_like_mp4(path):
        return "not a media file (ffprobe found no readable audio or video)"
    if "moov atom not found" in text or "end of file" in text or "truncat" in text:
        return "file is truncated (the container's index is missing or cut short)"
    if "invalid data found" in text or "could not find codec parameters" in text:
        return "not a media file (ffprobe found no readable audio or video)"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"cannot read the file: {lines[-1][:200] if lines else 'ffprobe failed'}"


def probe(path: Path | str, *, timeout: float = 60) -> ProbeResult:
    args = [
        ffprobe_binary(),
        "-v",
        "error",
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        str(path),
    ]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise NotMedia("ffprobe timed out reading the file") from exc
    if done.returncode != 0:
        raise NotMedia(_refusal(done.stderr, path))
    info = json.loads(done.stdout or "{}")
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise NotMedia("no video stream found")
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    audio = audios[0] if audios else None
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise NotMedia("the video stream has no picture size")
    duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0)
    if duration <= 0:
        raise NotMedia("file is truncated (no duration)")
    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    if fps <= 0 or fps > 240:
        fps = 25.0
    # A truncated MP4 may still carry an index: the streams then end before the format says.
    if "truncat" in done.stderr.lower():
        raise NotMedia("file is truncated")
    return ProbeResult(
        duration=duration,
        width=width,
        height=height,
        frame_rate=round(fps, 3),
        video_codec=str(video.get("codec_name") or ""),
        audio_codec=str(audio.get("codec_name") or "") if audio else "",
        audio_channels=int(audio["channels"]) if audio and audio.get("channels") else None,
        audio_languages=tuple(_language(s) for s in audios),
    )


def _language(stream: dict) -> str:
    """A stream's language tag, lower-cased; "und" (undetermined, ISO 639-2) when absent."""
    tag = str((stream.get("tags") or {}).get("language") or "").strip().lower()
    return tag if tag.replace("-", "").isalnum() and len(tag) <= 16 else "und"
