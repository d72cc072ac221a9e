"""Media pipeline benchmarks (docs/benchmarks.md, "Media pipeline").

1. Overhead: wall time of the whole pipeline (asset_process: probe, complexity probe, ladder
   encode, poster, trickplay, upload to storage, publish; quality report off) against one
   hand-written ffmpeg command producing the same ladder from the same clip.
2. Per-title vs fixed ladder: bytes (video renditions plus the audio group, counted once as
   it is stored and served) and mean VMAF of the ladder on clips of low, medium and high
   visual complexity; and the per-title ladder against the fixed table at equal mean VMAF
   (the fixed table scaled until two of its ladders bracket the per-title VMAF).

Env: BENCH_SECONDS (clip length, default 10), BENCH_HEIGHT (default 720), BENCH_REPEAT (3),
BENCH_CLIPS (comma-separated synthetic.SOURCES kinds for the ladder part; default
pan,zoom,bars,testsrc,noise).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="ss-bench-media-"))
os.environ["STREAMSITE_VAR_DIR"] = str(TMP / "var")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["MEDIA_QUALITY_SAMPLE_SECONDS"] = "0"

import django  # noqa: E402

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402

from catalog.models import Title  # noqa: E402
from media import (  # noqa: E402
    ffmpeg,
    hls,
    ladder,
    services,  # noqa: E402
    synthetic,
    transcode,
)
from media.models import MediaAsset  # noqa: E402
from media.probe import probe  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
HEIGHT = int(os.environ.get("BENCH_HEIGHT", "720"))
WIDTH = HEIGHT * 16 // 9
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
CLIPS = os.environ.get("BENCH_CLIPS", "pan,zoom,bars,testsrc,noise").split(",")


def hand_written(src: Path, rungs: list[ladder.Rung], out: Path, fps: float) -> float:
    """The baseline: one ffmpeg command a person would write for the same ladder."""
    n = len(rungs)
    gop = int(round(fps * 4))
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    graph += ";".join(f"[s{i}]scale={r.width}:{r.height}[v{i}]" for i, r in enumerate(rungs))
    graph += ";[0:a]loudnorm=I=-23:TP=-2:LRA=11,aresample=48000,asplit=" + str(n)
    graph += "".join(f"[a{i}]" for i in range(n))
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src)]
    cmd += ["-filter_complex", graph]
    for i in range(n):
        cmd += ["-map", f"[v{i}]", "-map", f"[a{i}]"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-crf", "21"]
    for i, r in enumerate(rungs):
        cmd += [f"-maxrate:v:{i}", str(int(r.bitrate * 1.5))]
        cmd += [f"-bufsize:v:{i}", str(r.bitrate * 2)]
    cmd += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    cmd += ["-force_key_frames", "expr:gte(t,n_forced*4)"]
    cmd += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
    cmd += ["-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod"]
    cmd += ["-hls_segment_filename", f"{out}/%v/seg_%05d.ts"]
    cmd += ["-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(n)), f"{out}/%v/index.m3u8"]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def pipeline(src: Path, title: Title) -> tuple[float, MediaAsset]:
    upload = SimpleUploadedFile(src.name, src.read_bytes(), content_type="video/mp4")
    # Queue the job without running it (the upload request's part is not what we time).
    services._enqueue_transcode = lambda *a: None  # type: ignore[assignment]
    asset = services.asset_create(upload=upload, title=title)
    started = time.perf_counter()
    status = transcode.asset_process(asset_id=asset.pk, version=asset.version)
    elapsed = time.perf_counter() - started
    assert status == "ready", (status, MediaAsset.objects.get(pk=asset.pk).error)
    asset.refresh_from_db()
    return elapsed, asset


def overhead() -> None:
    src = synthetic.make_clip(
        TMP / "overhead.mp4", kind="testsrc", width=WIDTH, height=HEIGHT, seconds=SECONDS
    )
    title = Title.objects.create(name="Bench", slug="bench", is_published=True)
    ours, theirs = [], []
    for i in range(REPEAT):
        elapsed, asset = pipeline(src, title)
        ours.append(elapsed)
        rungs = [
            ladder.Rung(r.width, r.height, r.target_bitrate)
            for r in asset.renditions.order_by("height")
        ]
        out = TMP / f"hand{i}"
        theirs.append(hand_written(src, rungs, out, asset.frame_rate or 25.0))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"\n### Pipeline overhead ({WIDTH}x{HEIGHT}, {SECONDS} s testsrc2, {len(rungs)} rungs)")
    print(f"| run | wall s (median of {REPEAT}) |")
    print("| --- | ---: |")
    print(f"| hand-written ffmpeg command | {b:.2f} |")
    print(f"| Streamsite pipeline (asset_process) | {a:.2f} |")
    print(f"| ratio | {a / b:.2f} |")
    print(f"all runs: ours {[round(x, 2) for x in ours]}, hand {[round(x, 2) for x in theirs]}")


def encode_and_score(
    src: Path, facts, rungs: list[ladder.Rung], out: Path, crf: int | None
) -> tuple[int, int, float]:
    """(video bytes, audio bytes, mean VMAF of the video renditions) of one ladder encode."""
    encoded = hls.encode(str(src), facts, rungs, out, hls.EncodeSettings(crf=crf))
    scores = [
        hls.measure_quality(
            str(out / v.directory / "index.m3u8"),
            str(src),
            width=facts.width,
            height=facts.height,
            seconds=facts.duration,
        ).vmaf
        or 0.0
        for v in encoded.variants
    ]
    video = sum(v.size_bytes for v in encoded.variants)
    audio = sum(a.size_bytes for a in encoded.audio)  # the group: once, not per variant
    return video, audio, statistics.mean(scores)


def bytes_at(vmaf: float, points: list[tuple[float, int]]) -> float | None:
    """The fixed ladder's video bytes at `vmaf`, interpolated in log(bytes) between the two
    measured ladders that bracket it; None when none do."""
    ordered = sorted(points)
    for (v0, b0), (v1, b1) in zip(ordered, ordered[1:], strict=False):
        if v0 <= vmaf <= v1 and v1 > v0:
            share = (vmaf - v0) / (v1 - v0)
            return math.exp(math.log(b0) + share * (math.log(b1) - math.log(b0)))
    return None


def ladder_comparison() -> None:
    """Per clip: the per-title ladder (capped CRF); the fixed table at average bitrate; and,
    for a comparison at equal VMAF, the fixed table scaled down (or up) until two fixed
    ladders bracket the per-title ladder's mean VMAF (interpolated in log bytes)."""
    print(
        f"\n### Per-title vs fixed ladder ({WIDTH}x{HEIGHT}, {SECONDS} s clips, VMAF over the clip)"
    )
    print(
        "| clip | complexity | ladder | kb/s per rung | video bytes | audio bytes | total bytes "
        "| mean VMAF |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for kind in CLIPS:
        src = synthetic.make_clip(
            TMP / f"{kind}.mp4", kind=kind, width=WIDTH, height=HEIGHT, seconds=SECONDS
        )
        facts = probe(src)
        complexity = ladder.measure_complexity(src, facts)
        label = f"{kind} | {synthetic.SOURCES[kind][1]} ({complexity:.3f} bpp)"

        def row(
            name: str,
            rungs: list[ladder.Rung],
            result: tuple[int, int, float],
            label: str = label,
        ) -> None:
            video, audio, vmaf = result
            rates = "/".join(str(r.bitrate // 1000) for r in rungs)
            print(
                f"| {label} | {name} | {rates} | {video:,} | {audio:,} | {video + audio:,} "
                f"| {vmaf:.2f} |"
            )

        per_rungs = ladder.per_title_ladder(facts, complexity)
        per = encode_and_score(src, facts, per_rungs, TMP / f"{kind}-per", ladder.PER_TITLE_CRF)
        row("per-title", per_rungs, per)
        fixed: dict[float, tuple[int, int, float]] = {}
        scale = 1.0
        for _ in range(4):
            rungs = [
                ladder.Rung(r.width, r.height, int(r.bitrate * scale))
                for r in ladder.fixed_ladder(facts)
            ]
            fixed[scale] = encode_and_score(src, facts, rungs, TMP / f"{kind}-x{scale}", None)
            row("fixed" if scale == 1.0 else f"fixed x{scale:g}", rungs, fixed[scale])
            vmafs = [v for _, _, v in fixed.values()]
            if min(vmafs) <= per[2] <= max(vmafs):
                break
            scale = scale / 2 if per[2] < min(vmafs) else scale * 2
        audio = per[1]
        same = bytes_at(per[2], [(v, b) for b, _, v in fixed.values()])
        base = fixed[1.0]
        print(
            f"| {label} | per-title vs fixed (table rates) | | {1 - per[0] / base[0]:+.1%} | "
            f"| {1 - (per[0] + audio) / (base[0] + audio):+.1%} fewer | {per[2] - base[2]:+.2f} |"
        )
        if same is None:
            print(f"| {label} | per-title vs fixed at equal VMAF | | not bracketed | | | |")
        else:
            print(
                f"| {label} | per-title vs fixed at equal VMAF ({same + audio:,.0f} bytes) | | "
                f"{1 - per[0] / same:+.1%} | | {1 - (per[0] + audio) / (same + audio):+.1%} "
                "fewer | 0 |"
            )


def main() -> int:
    call_command("migrate", verbosity=0)
    binary, metric = ffmpeg.quality_binary()
    print(f"ffmpeg: {ffmpeg.ffmpeg_binary()}; quality: {metric} via {binary}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    which = sys.argv[1:] or ["overhead", "ladder"]
    if "overhead" in which:
        overhead()
    if "ladder" in which:
        ladder_comparison()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
