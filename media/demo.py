"""Demo media: a few synthetic clips of different complexity through the real pipeline.

Every published movie and every episode of a published series that lacks a ready asset gets
one; only the handful of distinct clips is encoded, the rest share their versioned prefix.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Exists, OuterRef
from django.test.utils import override_settings

from catalog.models import Episode, Season, Title
from media import services, subtitles, synthetic, transcode
from media.models import MediaAsset

# (lavfi source, width, height, seconds): low to high visual complexity.
DEMO_CLIPS: list[tuple[str, int, int, int]] = [
    ("bars", 1280, 720, 10),
    ("testsrc", 1280, 720, 10),
    ("noise", 1280, 720, 10),
]
# The demo's sources speak two languages (two tones, tagged), so the player's audio menu shows.
DEMO_LANGUAGES = ("eng", "spa")
# The quality report compares this many seconds per rendition in the demo (keeps it quick).
DEMO_QUALITY_SECONDS = 3

DEMO_SUBTITLES = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nThis is a Streamsite demo clip.\n\n"
    "00:00:05.000 --> 00:00:09.000\nEncoded by the real pipeline into adaptive HLS.\n"
)

DEMO_TITLES = [
    ("Colour Bars at Dawn", "colour-bars-at-dawn", "A meditation on calibration."),
    ("The Test Pattern", "the-test-pattern", "Everything moves; nothing changes."),
    ("Mandelbrot Drift", "mandelbrot-drift", "An endless zoom into the set."),
]


def _ensure_titles(stdout: Any) -> None:
    if Title.objects.exists():
        return
    for name, slug, synopsis in DEMO_TITLES:
        Title.objects.create(name=name, slug=slug, synopsis=synopsis, is_published=True)
    series = Title.objects.create(
        kind=Title.Kind.SERIES,
        name="Static Noise",
        slug="static-noise",
        synopsis="A series about what lies between channels.",
        is_published=True,
    )
    season = Season.objects.create(title=series, number=1)
    for n in (1, 2):
        Episode.objects.create(season=season, number=n, name=f"Channel {n}")
    stdout.write("  created 4 demo titles (no catalog titles existed)")


def _targets() -> list[tuple[Title | None, Episode | None]]:
    ready = MediaAsset.objects.ready()
    movies = Title.objects.filter(kind=Title.Kind.MOVIE, is_published=True).exclude(
        Exists(ready.filter(title_id=OuterRef("pk")))
    )
    episodes = (
        Episode.objects.filter(season__title__is_published=True)
        .exclude(Exists(ready.filter(episode_id=OuterRef("pk"))))
        .select_related("season")
        .order_by("season__title_id", "season__number", "number")
    )
    return [(t, None) for t in movies.order_by("pk")] + [(None, e) for e in episodes]


def seed(*, stdout: Any, clips: list[tuple[str, int, int, int]] | None = None) -> None:
    clips = DEMO_CLIPS if clips is None else clips
    stdout.write("Demo media: synthetic clips through the real pipeline")
    _ensure_titles(stdout)
    targets = _targets()
    encoded: list[MediaAsset] = []
    with tempfile.TemporaryDirectory(prefix="ss-demo-") as tmp:
        for i, (kind, width, height, seconds) in enumerate(clips, start=1):
            name = f"demo-{kind}-{height}p.mp4"
            existing = MediaAsset.objects.ready().filter(source_name=name).order_by("pk").first()
            if existing is not None:
                encoded.append(existing)
                continue
            if not targets:
                break
            title, episode = targets.pop(0)
            started = time.monotonic()
            path = synthetic.make_clip(
                Path(tmp) / name,
                kind=kind,
                width=width,
                height=height,
                seconds=seconds,
                languages=DEMO_LANGUAGES,
            )
            with override_settings(MEDIA_QUALITY_SAMPLE_SECONDS=DEMO_QUALITY_SECONDS):
                asset = _encode(name, path, title, episode)
            asset.refresh_from_db()
            stdout.write(
                f"  [{i}/{len(clips)}] {kind} ({synthetic.SOURCES[kind][1]} complexity, "
                f"{width}x{height}, {seconds}s): {asset.status}, "
                f"{asset.renditions.count()} renditions in {time.monotonic() - started:.1f}s"
            )
            if asset.status == MediaAsset.Status.READY:
                encoded.append(asset)
    if not encoded:
        stdout.write("  no ready demo clip to attach (is a worker running?)")
        return
    for n, (title, episode) in enumerate(targets):
        services.asset_share(source=encoded[n % len(encoded)], title=title, episode=episode)
    stdout.write(f"  {len(encoded)} encoded clips; {len(targets)} more titles/episodes share them")


def _encode(name: str, path: Path, title: Title | None, episode: Episode | None) -> MediaAsset:
    asset = services.asset_create(
        upload=SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4"),
        title=title,
        episode=episode,
    )
    # In-process when there is no broker (then this is a no-op: it already ran at commit).
    transcode.asset_process(asset_id=asset.pk, version=asset.version)
    subtitles.subtitle_put(
        asset=asset,
        language="en",
        label="English",
        upload=SimpleUploadedFile("en.vtt", DEMO_SUBTITLES.encode()),
    )
    return asset
