"""What the media scenarios share: a media root and scratch space of the run, a transcode
worker and a default worker (the sweeper, prefix deletion), titles and sources."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from bench.chaos import infra
from bench.chaos.core import Context
from bench.chaos.drive import worker_env

#: beat sends the media sweeper this often (CELERY_BEAT_SCHEDULE["media.sweep-stale"]); the
#: fast subset (CI) shortens it with the heartbeat settings, through the same settings
SWEEP_EVERY, FAST_SWEEP_EVERY = 30.0, 10.0
FAST_HEARTBEAT = {"MEDIA_HEARTBEAT_SECONDS": "5", "MEDIA_HEARTBEAT_TIMEOUT": "30"}


def media_env(ctx: Context, media_root: Path, work_dir: Path, **extra: str) -> dict[str, str]:
    env = worker_env(ctx)
    env.update(
        MEDIA_ROOT=str(media_root),
        MEDIA_WORK_DIR=str(work_dir),
        MEDIA_QUALITY_SAMPLE_SECONDS="0",
        MEDIA_LADDER="fixed",
        MEDIA_X264_PRESET="ultrafast",
        **extra,
    )
    if ctx.fast:
        env.update(FAST_HEARTBEAT)
    return env


@contextlib.contextmanager
def storage_at(media_root: Path, work_dir: Path) -> Iterator[None]:
    """The harness writes sources where its workers read them."""
    from django.test.utils import override_settings

    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media_root), "base_url": "/media/"},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(
        STORAGES=storages, MEDIA_ROOT=str(media_root), MEDIA_WORK_DIR=str(work_dir)
    ):
        yield


class MediaWorkers:
    """A transcode worker (the one killed) and a default-queue worker for the sweeper."""

    def __init__(self, ctx: Context, scenario: str, env: dict[str, str], concurrency: int = 2):
        self.ctx, self.scenario, self.env, self.concurrency = ctx, scenario, env, concurrency
        self.transcoders: list[infra.Process] = []
        self.default: infra.Process | None = None
        self.last_sweep = 0.0
        self.sweep_every = FAST_SWEEP_EVERY if ctx.fast else SWEEP_EVERY

    def _start(self, queues: tuple[str, ...], label: str, concurrency: int) -> infra.Process:
        log = self.ctx.workdir / f"{self.scenario}-{label}.log"
        worker = infra.celery_worker(
            env=self.env, log=log, queues=queues, concurrency=concurrency
        ).start()
        if not infra.wait_until(lambda: "ready." in worker.tail(100_000), timeout=120):
            raise RuntimeError(f"{label} worker did not become ready:\n" + worker.tail())
        return worker

    def start(self) -> MediaWorkers:
        self.default = self._start(("default",), "default", 1)
        self.start_transcoder()
        return self

    def start_transcoder(self) -> infra.Process:
        label = f"transcode{len(self.transcoders) + 1}"
        worker = self._start(("transcode",), label, self.concurrency)
        self.transcoders.append(worker)
        return worker

    def kill_transcoder(self) -> None:
        self.transcoders[-1].kill()

    def sweep_if_due(self) -> None:
        """Send the media sweeper through the broker on beat's schedule."""
        if time.monotonic() - self.last_sweep < self.sweep_every:
            return
        from streamsite.celery import app

        self.last_sweep = time.monotonic()
        try:
            app.send_task("media.tasks.media_sweep_stale")
        except Exception as exc:  # noqa: BLE001 - reported, the next tick tries again
            self.ctx.log(f"  sweep not sent: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        for worker in [*self.transcoders, *([self.default] if self.default else [])]:
            worker.stop(timeout=20)


def make_source(path: Path, seconds: float) -> Path:
    from media import synthetic

    if not path.exists():
        synthetic.make_clip(path, kind="testsrc", width=640, height=360, seconds=seconds)
    return path


def new_movie(name: str):
    from catalog.models import Title

    return Title.objects.create(kind=Title.Kind.MOVIE, name=name, slug=name, is_published=True)


def upload(path: Path, name: str | None = None):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="video/mp4")


def leftovers(media_root: Path, work_dir: Path, asset_ids: list[int]) -> list[str]:
    """What a finished run must not hold: a second version's files or rows of an asset,
    scratch folders of jobs."""
    from media.models import MediaAsset, Rendition

    left = []
    for asset in MediaAsset.objects.filter(pk__in=asset_ids):
        folders = sorted(p.name for p in (media_root / "hls" / str(asset.uuid)).glob("*"))
        expected = [str(asset.ready_version)] if asset.ready_version else []
        if folders != expected:
            left.append(f"asset {asset.pk}: version folders {folders}, serving {expected}")
        stray = Rendition.objects.filter(asset=asset).exclude(version=asset.ready_version or 0)
        if stray.exists():
            left.append(f"asset {asset.pk}: {stray.count()} renditions of other versions")
    left += [f"scratch {p.name}" for p in work_dir.glob("ss-*")]
    return left
