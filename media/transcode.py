"""The transcode job: claim, probe, ladder, encode, package, verify, publish. Every write is
conditional on the worker still owning the job (its asset and version, still running)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from media import ffmpeg, hls, ladder, storage, verify
from media.models import AudioRendition, MediaAsset, Rendition, Subtitle
from media.probe import NotMedia, ProbeResult, probe
from media.recovery import SCRATCH_PREFIX, Heartbeat, scratch_root, sweep_scratch

log = logging.getLogger(__name__)
Status = MediaAsset.Status

HEARTBEAT_EVERY = 2.0  # seconds between progress writes while ffmpeg runs


def enqueue_delete_prefix(prefix: str) -> None:
    """Delete a version's files in storage, after commit, on a worker."""
    from media.tasks import media_delete_prefix

    media_delete_prefix.delay_on_commit(prefix)  # type: ignore[attr-defined]


class Superseded(Exception):
    """The job was cancelled or taken over by the sweeper while this worker ran it."""


class JobFailed(Exception):
    def __init__(self, reason: str, *, log_tail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.log_tail = log_tail


class Job:
    """The worker's handle on one (asset, version): every write is conditional on owning it."""

    def __init__(self, asset_id: int, version: int, clock: Callable[[], float] = time.monotonic):
        self.asset_id = asset_id
        self.version = version
        self.clock = clock
        self.last_beat = 0.0
        self.lost = False  # set by the heartbeat thread when the row is no longer ours

    def _rows(self):
        return MediaAsset.objects.filter(
            pk=self.asset_id, version=self.version, status__in=MediaAsset.RUNNING_STATUSES
        )

    def update(self, **fields: Any) -> None:
        fields.setdefault("heartbeat_at", timezone.now())
        fields["updated_at"] = timezone.now()
        if self._rows().update(**fields) != 1:
            raise Superseded()
        self.last_beat = self.clock()

    def touch(self) -> bool:
        """Write the heartbeat alone; False when the job is no longer ours."""
        now = timezone.now()
        return self._rows().update(heartbeat_at=now, updated_at=now) == 1

    def beat(self, progress: int | None = None) -> bool:
        """Heartbeat (throttled); False when the job is no longer ours (stop at once)."""
        if self.lost:
            return False
        if self.clock() - self.last_beat < HEARTBEAT_EVERY:
            return True
        try:
            self.update(**({"progress": progress} if progress is not None else {}))
        except Superseded:
            return False
        return True


def _claim(asset_id: int, version: int) -> bool:
    now = timezone.now()
    return (
        MediaAsset.objects.filter(pk=asset_id, version=version, status=Status.QUEUED).update(
            status=Status.PROBING,
            progress=0,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
            error="",
            log_tail="",
            ffmpeg_command="",
            updated_at=now,
        )
        == 1
    )


def asset_process(*, asset_id: int, version: int) -> str:
    """Run one job: probe, ladder, encode, package, publish. Returns the final status.

    Safe to call twice or concurrently: only the call that claims (queued -> probing) works,
    and every later write is conditional on the job still being this version and running.
    """
    if not _claim(asset_id, version):
        return "skipped"
    job = Job(asset_id, version)
    asset = MediaAsset.objects.get(pk=asset_id)
    prefix = asset.version_prefix
    root = scratch_root()
    try:
        sweep_scratch(root)  # what jobs killed on this host left behind
        with (
            Heartbeat(job, settings.MEDIA_HEARTBEAT_SECONDS),
            tempfile.TemporaryDirectory(
                prefix=f"{SCRATCH_PREFIX}{asset_id}-v{version}-",
                dir=root,
                ignore_cleanup_errors=True,
            ) as tmp,
        ):
            _run_pipeline(job, asset, Path(tmp), prefix)
        return Status.READY
    except Superseded:
        log.info("media job %s v%s superseded; cleaning %s", asset_id, version, prefix)
        _safe_delete_prefix(prefix)
        return "superseded"
    except JobFailed as exc:
        _fail(job, exc.reason, exc.log_tail, prefix)
        return Status.FAILED
    except SoftTimeLimitExceeded:
        _fail(job, "the encode ran past the task time limit", "", prefix)
        return Status.FAILED
    except Exception as exc:  # noqa: BLE001 - any crash must end as a failed job, not a stuck one
        log.exception("media job %s v%s crashed", asset_id, version)
        _fail(job, f"internal error: {type(exc).__name__}: {exc}"[:500], "", prefix)
        return Status.FAILED


def _fail(job: Job, reason: str, log_tail: str, prefix: str) -> None:
    _safe_delete_prefix(prefix)
    fields: dict[str, Any] = {
        "status": Status.FAILED,
        "error": reason,
        "finished_at": timezone.now(),
    }
    if log_tail:
        fields["log_tail"] = log_tail[-ffmpeg.LOG_TAIL_CHARS :]
    with transaction.atomic():
        Rendition.objects.filter(asset_id=job.asset_id, version=job.version).delete()
        AudioRendition.objects.filter(asset_id=job.asset_id, version=job.version).delete()
        job._rows().update(**fields, updated_at=timezone.now())


def _safe_delete_prefix(prefix: str) -> None:
    try:
        storage.delete_prefix(prefix)
    except Exception:  # noqa: BLE001 - cleanup is best effort; the sweeper and retries re-run it
        log.warning("could not delete %s", prefix, exc_info=True)


def _progress(job: Job, start: int, end: int) -> Callable[[float], bool]:
    def report(fraction: float) -> bool:
        return job.beat(start + int((end - start) * fraction))

    return report


def _run_pipeline(job: Job, asset: MediaAsset, tmp: Path, prefix: str) -> None:
    # A redone job starts clean: nothing of this version may survive from an earlier try.
    Rendition.objects.filter(asset=asset, version=job.version).delete()
    AudioRendition.objects.filter(asset=asset, version=job.version).delete()
    storage.delete_prefix(prefix)

    try:
        source_path = str(storage.fetch_to_local(asset.source_key, tmp / "source"))
    except FileNotFoundError as exc:
        raise JobFailed("the source file is missing from storage") from exc
    except OSError as exc:
        raise JobFailed(f"storage error reading the source: {exc}") from exc
    try:
        facts = probe(source_path)
    except NotMedia as exc:
        raise JobFailed(str(exc)) from exc
    job.update(
        progress=3,
        duration=facts.duration,
        width=facts.width,
        height=facts.height,
        frame_rate=facts.frame_rate,
        video_codec=facts.video_codec,
        audio_codec=facts.audio_codec,
        audio_channels=facts.audio_channels,
    )

    rungs, method, complexity = choose_ladder(source_path, facts, work_dir=tmp)
    job.update(status=Status.TRANSCODING, progress=8, ladder_method=method, complexity=complexity)

    out = tmp / "out"
    cfg = hls.EncodeSettings(
        segment_seconds=settings.MEDIA_SEGMENT_SECONDS,
        preset=settings.MEDIA_X264_PRESET,
        crf=ladder.PER_TITLE_CRF if method == "per_title" else None,
    )
    args = hls.encode_args(source_path, facts, rungs, out, cfg)
    job.update(ffmpeg_command=ffmpeg.command_text([ffmpeg.ffmpeg_binary(), *args]))

    def whole(directories: list[str], audio_directories: list[str]) -> None:
        verify.verify_ladder(
            out,
            directories,
            source_seconds=facts.duration,
            segment_seconds=cfg.segment_seconds,
            beat=lambda: job.beat(80),
            audio_directories=audio_directories,
        )

    try:
        encoded = hls.encode(
            source_path, facts, rungs, out, cfg, on_progress=_progress(job, 8, 80), check=whole
        )
        variants, log_tail = encoded.variants, encoded.log_tail
    except ffmpeg.FfmpegCancelled as exc:
        raise Superseded() from exc
    except ffmpeg.FfmpegFailed as exc:
        raise JobFailed(_ffmpeg_reason(exc), log_tail=exc.log_tail) from exc
    except verify.Incomplete as exc:
        raise JobFailed(_incomplete_reason(exc, tmp)) from exc
    job.update(status=Status.PACKAGING, progress=80, log_tail=log_tail)

    try:
        extras = _make_extras(job, asset, facts, out, variants)
    except ffmpeg.FfmpegFailed as exc:
        raise JobFailed(f"packaging failed: {exc}", log_tail=exc.log_tail) from exc
    quality = _measure(job, source_path, facts, out, variants)

    needed = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    free = storage.free_bytes(f"{prefix}/master.m3u8")
    if free is not None and needed > free:
        raise JobFailed(
            f"disk full: the encode needs {needed / storage.MB:.1f} MB on the media disk and "
            f"{max(0, free) / storage.MB:.1f} MB are free"
        )
    try:
        storage.upload_tree(out, prefix, on_file=lambda: job.beat())
    except Superseded:
        raise
    except storage.StorageFull as exc:
        raise JobFailed("disk full while storing the encode (no space left on device)") from exc
    except (OSError, storage.StorageError) as exc:
        raise JobFailed(f"storage error: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - S3 clients raise their own error types
        raise JobFailed(f"storage error: {type(exc).__name__}: {exc}") from exc
    _publish(job, facts, prefix, variants, quality, extras, audio=encoded.audio)


def _incomplete_reason(exc: verify.Incomplete, scratch: Path) -> str:
    # ffmpeg's HLS muxer exits 0 when the disk fills (it logs nothing): a full scratch disk
    # is told apart by what is left on it.
    free = shutil.disk_usage(scratch).free
    if free < storage.MB:
        return (
            f"disk full while encoding (no space left on device: the scratch space has "
            f"{free // 1024} KB free); {exc}"
        )
    return str(exc)


def _ffmpeg_reason(exc: ffmpeg.FfmpegFailed) -> str:
    text = exc.log_tail.lower()
    if "no space left" in text:
        return "disk full while encoding (no space left on device)"
    if "invalid data" in text or "error while decoding" in text:
        return f"the source could not be decoded: {exc}"
    return f"encoding failed: {exc}"


def choose_ladder(
    source_path: str, facts: ProbeResult, *, work_dir: Path | None = None
) -> tuple[list[ladder.Rung], str, float | None]:
    if settings.MEDIA_LADDER == "fixed":
        return ladder.fixed_ladder(facts), "fixed", None
    try:
        complexity = ladder.measure_complexity(source_path, facts, work_dir=work_dir)
    except ffmpeg.FfmpegFailed as exc:
        raise JobFailed(_ffmpeg_reason(exc), log_tail=exc.log_tail) from exc
    return ladder.per_title_ladder(facts, complexity), "per_title", round(complexity, 5)


def _make_extras(
    job: Job,
    asset: MediaAsset,
    facts: ProbeResult,
    out: Path,
    variants: list[hls.VariantInfo],
) -> dict[str, str]:
    hls.make_poster(str(out / variants[-1].directory / "index.m3u8"), facts, out / "poster.jpg")
    job.beat(82)
    hls.make_trickplay(
        str(out / variants[0].directory / "index.m3u8"),
        facts,
        out / "trickplay.jpg",
        out / "trickplay.vtt",
        "trickplay.jpg",
    )
    job.beat(84)
    from django.core.files.storage import default_storage

    subs = out / "subs"
    for subtitle in Subtitle.objects.filter(asset=asset):
        subs.mkdir(exist_ok=True)
        with default_storage.open(subtitle.vtt_key, "rb") as fh:
            (subs / f"{subtitle.language}.vtt").write_bytes(fh.read())
        (subs / f"{subtitle.language}.m3u8").write_text(
            hls.subtitle_playlist(f"{subtitle.language}.vtt", facts.duration)
        )
    return {"poster": "poster.jpg", "sprite": "trickplay.jpg", "vtt": "trickplay.vtt"}


def _measure(
    job: Job, source_path: str, facts: ProbeResult, out: Path, variants: list[hls.VariantInfo]
) -> dict[int, hls.Quality]:
    seconds = min(float(settings.MEDIA_QUALITY_SAMPLE_SECONDS), facts.duration)
    results: dict[int, hls.Quality] = {}
    if seconds <= 0:
        return results
    for i, variant in enumerate(variants):
        if not job.beat(85 + int(10 * i / len(variants))):
            raise Superseded()
        try:
            results[variant.rung.height] = hls.measure_quality(
                str(out / variant.directory / "index.m3u8"),
                source_path,
                width=facts.width,
                height=facts.height,
                seconds=seconds,
            )
        except ffmpeg.FfmpegFailed:
            log.warning("quality measurement failed for %sp", variant.rung.height, exc_info=True)
    return results


def _publish(
    job: Job,
    facts: ProbeResult,
    prefix: str,
    variants: list[hls.VariantInfo],
    quality: dict[int, hls.Quality],
    extras: dict[str, str],
    *,
    audio: list[hls.AudioInfo],
) -> None:
    """Switch the asset to the new version in one transaction, only if the job is still ours."""
    from media.selectors import write_static_master

    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=job.asset_id)
        if asset.version != job.version or asset.status != Status.PACKAGING:
            raise Superseded()
        Rendition.objects.filter(asset=asset, version=job.version).delete()
        Rendition.objects.bulk_create(
            Rendition(
                asset=asset,
                version=job.version,
                width=v.rung.width,
                height=v.rung.height,
                target_bitrate=v.rung.bitrate,
                bandwidth=v.bandwidth,
                average_bandwidth=v.average_bandwidth,
                codecs=v.codecs,
                frame_rate=facts.frame_rate,
                playlist_key=f"{prefix}/{v.directory}/index.m3u8",
                size_bytes=v.size_bytes,
                segment_count=v.segment_count,
                vmaf=quality[v.rung.height].vmaf if v.rung.height in quality else None,
                ssim=quality[v.rung.height].ssim if v.rung.height in quality else None,
            )
            for v in variants
        )
        AudioRendition.objects.filter(asset=asset, version=job.version).delete()
        AudioRendition.objects.bulk_create(
            AudioRendition(
                asset=asset,
                version=job.version,
                position=position,
                language=a.language,
                name=a.name,
                codecs=a.codecs,
                target_bitrate=a.bitrate,
                bandwidth=a.bandwidth,
                average_bandwidth=a.average_bandwidth,
                playlist_key=f"{prefix}/{a.directory}/index.m3u8",
                size_bytes=a.size_bytes,
                segment_count=a.segment_count,
            )
            for position, a in enumerate(audio)
        )
        old_prefix = asset.content_key
        now = timezone.now()
        asset.status = Status.READY
        asset.progress = 100
        asset.ready_version = job.version
        asset.content_key = prefix
        asset.master_key = f"{prefix}/master.m3u8"
        asset.poster_key = f"{prefix}/{extras['poster']}"
        asset.sprite_key = f"{prefix}/{extras['sprite']}"
        asset.thumbnails_vtt_key = f"{prefix}/{extras['vtt']}"
        asset.ready_at = now
        asset.finished_at = now
        asset.heartbeat_at = now
        asset.save(
            update_fields=[
                "status",
                "progress",
                *MediaAsset.SERVED_FIELDS,
                "ready_at",
                "finished_at",
                "heartbeat_at",
                "updated_at",
            ]
        )
        write_static_master(asset)
        # Rows of older versions go now; their files after commit (unless another asset shares
        # them, as the demo's titles do).
        Rendition.objects.filter(asset=asset).exclude(version=job.version).delete()
        AudioRendition.objects.filter(asset=asset).exclude(version=job.version).delete()
        shared = MediaAsset.objects.filter(content_key=old_prefix).exclude(pk=asset.pk)
        if old_prefix and old_prefix != prefix and not shared.exists():
            enqueue_delete_prefix(old_prefix)
