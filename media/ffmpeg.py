"""Resolve the ffmpeg binaries in one place and run ffmpeg with progress and a log tail."""

from __future__ import annotations

import functools
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings

LOG_TAIL_CHARS = 4000


class FfmpegNotFound(RuntimeError):
    pass


class FfmpegFailed(RuntimeError):
    def __init__(self, message: str, *, log_tail: str = "", returncode: int | None = None):
        super().__init__(message)
        self.log_tail = log_tail
        self.returncode = returncode


class FfmpegCancelled(RuntimeError):
    pass


def _imageio_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - it is a pinned requirement
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        return None


@functools.cache
def ffmpeg_binary() -> str:
    """MEDIA_FFMPEG_BINARY, else Debian's ffmpeg on PATH, else imageio-ffmpeg's static build."""
    configured = getattr(settings, "MEDIA_FFMPEG_BINARY", "")
    found = configured or shutil.which("ffmpeg") or _imageio_ffmpeg()
    if not found:
        raise FfmpegNotFound("ffmpeg not found: install it or set MEDIA_FFMPEG_BINARY")
    return found


@functools.cache
def ffprobe_binary() -> str:
    configured = getattr(settings, "MEDIA_FFPROBE_BINARY", "")
    found = configured or shutil.which("ffprobe")
    if not found:
        raise FfmpegNotFound("ffprobe not found: install ffmpeg or set MEDIA_FFPROBE_BINARY")
    return found


def has_filter(binary: str, name: str) -> bool:
    out = subprocess.run(
        [binary, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30
    ).stdout
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.strip())


@functools.cache
def quality_binary() -> tuple[str, str]:
    """(ffmpeg, metric): an ffmpeg with libvmaf if any (imageio-ffmpeg's has it), else SSIM."""
    configured = getattr(settings, "MEDIA_QUALITY_FFMPEG_BINARY", "")
    candidates = [c for c in (configured, ffmpeg_binary(), _imageio_ffmpeg()) if c]
    for candidate in candidates:
        if has_filter(candidate, "libvmaf"):
            return candidate, "vmaf"
    return ffmpeg_binary(), "ssim"


def command_text(args: Sequence[str]) -> str:
    return shlex.join(args)


@dataclass
class RunResult:
    log_tail: str


def run(
    args: Sequence[str],
    *,
    duration: float | None = None,
    on_progress: Callable[[float], bool] | None = None,
    timeout: float | None = None,
) -> RunResult:
    """Run ffmpeg (args without the binary) with `-progress pipe:1`.

    `on_progress(fraction)` is called as ffmpeg reports; returning False cancels the run
    (the process is killed and FfmpegCancelled raised). stderr goes to a temporary file so
    a long log is never held in memory; its tail is returned and attached to failures.
    """
    full = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", *args]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=log, text=True)
        killer: threading.Timer | None = None
        if timeout:
            killer = threading.Timer(timeout, proc.kill)
            killer.start()
        cancelled = False
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and duration and on_progress and value.isdigit():
                    fraction = min(1.0, int(value) / 1_000_000 / duration)
                    if not on_progress(fraction):
                        cancelled = True
                        proc.kill()
                        break
            proc.wait()
        finally:
            if killer:
                killer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0, 2)
        size = log.tell()
        log.seek(max(0, size - LOG_TAIL_CHARS))
        tail = log.read().decode("utf-8", "replace")
    if cancelled:
        raise FfmpegCancelled("cancelled")
    if proc.returncode != 0:
        last = [line for line in tail.strip().splitlines() if line.strip()][-1:] or ["no output"]
        raise FfmpegFailed(
            f"ffmpeg exited with {proc.returncode}: {last[0][:300]}",
            log_tail=tail,
            returncode=proc.returncode,
        )
    return RunResult(log_tail=tail)
