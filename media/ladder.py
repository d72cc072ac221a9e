"""Choose the renditions and bitrates of a title's ladder.

Per-title method (docs/media.md): a fast constant-quality (CRF) probe encode of a few short
windows of the source at a small size measures how many bits this content needs for a fixed
quality; that rate is scaled to each rung's pixel count (bits grow roughly with pixels^0.75)
and clamped between a floor and a ceiling derived from the fixed table. Rungs are capped at
the source height: never upscale.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from media import ffmpeg
from media.probe import ProbeResult

# The standard rungs and the fixed ladder's bitrates (bit/s) at 30 fps.
FIXED_LADDER: dict[int, int] = {
    240: 400_000,
    360: 800_000,
    480: 1_400_000,
    720: 2_800_000,
    1080: 5_000_000,
    1440: 9_000_000,
    2160: 16_000_000,
}
PER_TITLE_FLOOR = 0.2  # of the fixed rate: even a still picture gets a usable stream
PER_TITLE_CEILING = 1.5  # of the fixed rate: hard content may take more than the table
PIXEL_EXPONENT = 0.75
PROBE_HEIGHT = 360
PROBE_CRF = 21
PER_TITLE_CRF = 21  # the per-title encode: constant quality, capped at each rung's rate
PROBE_WINDOWS = 3
PROBE_WINDOW_SECONDS = 2.0
AUDIO_BITRATE = 128_000


@dataclass(frozen=True)
class Rung:
    width: int
    height: int
    bitrate: int  # video bits/s the encoder aims at


def even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def rung_heights(source_height: int) -> list[int]:
    """Every standard rung up to the source height; a source under 240p gets one rung."""
    heights = [h for h in FIXED_LADDER if h <= source_height]
    return heights or [even(source_height)]


def rung_size(source: ProbeResult, height: int) -> tuple[int, int]:
    return even(source.width * height / source.height), even(height)


def _fps_factor(source: ProbeResult) -> float:
    return max(0.5, min(2.0, source.frame_rate / 30.0))


def fixed_ladder(source: ProbeResult) -> list[Rung]:
    rungs = []
    for height in rung_heights(source.height):
        width, h = rung_size(source, height)
        base = FIXED_LADDER.get(height, FIXED_LADDER[240])
        rungs.append(Rung(width, h, int(base * _fps_factor(source))))
    return rungs


def probe_windows(duration: float) -> list[tuple[float, float]]:
    """(start, length) windows spread over the source; the whole clip when it is short."""
    total = PROBE_WINDOWS * PROBE_WINDOW_SECONDS
    if duration <= total * 1.5:
        return [(0.0, duration)]
    step = duration / PROBE_WINDOWS
    return [(step * i + (step - PROBE_WINDOW_SECONDS) / 2, PROBE_WINDOW_SECONDS) for i in range(3)]


def measure_complexity(
    path: Path | str, source: ProbeResult, *, work_dir: Path | None = None
) -> float:
    """Bits per pixel per frame of a CRF encode at probe size: the title's complexity."""
    width, height = rung_size(source, min(PROBE_HEIGHT, source.height))
    windows = probe_windows(source.duration)
    args: list[str] = []
    for start, length in windows:
        args += ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(path)]
    chains = "".join(f"[{i}:v:0]" for i in range(len(windows)))
    graph = f"{chains}concat=n={len(windows)}:v=1:a=0,scale={width}:{height},format=yuv420p[v]"
    with tempfile.TemporaryDirectory(prefix="ss-probe-", dir=work_dir) as tmp:
        out = Path(tmp) / "probe.mkv"
        ffmpeg.run(
            [
                *args,
                "-filter_complex",
                graph,
                "-map",
                "[v]",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                str(PROBE_CRF),
                "-an",
                str(out),
            ],
            timeout=600,
        )
        size_bits = out.stat().st_size * 8
    seconds = sum(length for _, length in windows)
    frames = max(1.0, seconds * source.frame_rate)
    return size_bits / (frames * width * height)


def per_title_ladder(source: ProbeResult, complexity: float) -> list[Rung]:
    """Scale the measured bits/pixel/frame to every rung, clamped around the fixed table."""
    probe_w, probe_h = rung_size(source, min(PROBE_HEIGHT, source.height))
    probe_pixels = probe_w * probe_h
    # ultrafast spends ~1.6x the bits of the preset we encode with for the same quality.
    probe_rate = complexity * probe_pixels * source.frame_rate / 1.6
    rungs = []
    for rung in fixed_ladder(source):
        pixels = rung.width * rung.height
        estimate = probe_rate * (pixels / probe_pixels) ** PIXEL_EXPONENT
        low, high = rung.bitrate * PER_TITLE_FLOOR, rung.bitrate * PER_TITLE_CEILING
        rate = int(min(high, max(low, estimate)))
        rungs.append(Rung(rung.width, rung.height, int(math.ceil(rate / 1000) * 1000)))
    return rungs
