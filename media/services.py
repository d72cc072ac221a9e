"""Writes of the media pipeline: uploads, retry/cancel, sharing, the sweeper (the transcode job
itself is media.transcode, subtitles are media.subtitles)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_valid_filename

from audit.services import record
from catalog.models import Episode, Title
from media import storage
from media.models import AudioRendition, MediaAsset, Rendition
from media.recovery import sweep_scratch
from media.transcode import enqueue_delete_prefix
from streamsite.errors import Conflict, ValidationFailed

log = logging.getLogger(__name__)
Status = MediaAsset.Status


def _enqueue_transcode(asset_id: int, version: int) -> None:
    from media.tasks import media_transcode

    media_transcode.delay_on_commit(asset_id, version)  # type: ignore[attr-defined]


# --- upload -------------------------------------------------------------------------------------


def _sha256(upload: IO[bytes] | UploadedFile) -> str:
    digest = hashlib.sha256()
    chunks = (
        upload.chunks()
        if isinstance(upload, UploadedFile)
        else iter(lambda: upload.read(storage.CHUNK), b"")
    )
    for chunk in chunks:
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def asset_create(
    *,
    upload: UploadedFile,
    title: Title | None = None,
    episode: Episode | None = None,
    created_by: Any = None,
) -> MediaAsset:
    """Store an uploaded source (streamed in chunks) and record a queued job for it."""
    if (title is None) == (episode is None):
        raise ValidationFailed(
            "Attach the video to exactly one title or one episode.",
            extra={"fields": {"title_id": ["Give a title or an episode, not both."]}},
        )
    if title is not None and title.kind != Title.Kind.MOVIE:
        raise ValidationFailed(
            "A series plays its episodes: upload to an episode instead.",
            extra={"fields": {"title_id": ["Not a movie."]}},
        )
    if not upload.size:
        raise ValidationFailed(
            "The uploaded file is empty.", extra={"fields": {"file": ["Empty file."]}}
        )
    asset = MediaAsset(title=title, episode=episode, created_by=created_by)
    name = get_valid_filename(Path(upload.name or "source").name)[-120:] or "source"
    key = f"sources/{asset.uuid}/{name}"
    storage.ensure_room(key, upload.size)  # 507 before a byte is written
    sha = _sha256(upload)
    storage.save_exact(key, upload)  # a disk that fills meanwhile: 507, the part removed
    try:
        with transaction.atomic():
            asset.source_key = key
            asset.source_name = name
            asset.source_size = upload.size
            asset.source_sha256 = sha
            asset.save()
            record(action="media.asset_upload", obj=asset, after={"source": name})
            _enqueue_transcode(asset.pk, asset.version)
    except BaseException:
        storage.discard(key)
        raise
    return asset


# --- retry / cancel -----------------------------------------------------------------------------


@transaction.atomic
def asset_retry(*, asset: MediaAsset) -> MediaAsset:
    """Run a failed or cancelled job again from a clean state, under a new version."""
    return _requeue(
        asset,
        [Status.FAILED, Status.CANCELLED],
        action="media.asset_retry",
        refusal=f"Only a failed or cancelled job can be retried (this one is {asset.status}).",
    )


@transaction.atomic
def asset_reencode(*, asset: MediaAsset) -> MediaAsset:
    """Encode a ready asset again (e.g. after a ladder change); the old version plays meanwhile."""
    return _requeue(
        asset,
        [Status.READY],
        action="media.asset_reencode",
        refusal=f"Only a ready asset can be re-encoded (this one is {asset.status}).",
    )


def _requeue(asset: MediaAsset, statuses: list[str], *, action: str, refusal: str) -> MediaAsset:
    """Queue a new version of the job from a clean state if the asset is in one of `statuses`
    (one conditional update, so two staff clicks queue one job), else 409 with `refusal`."""
    changed = MediaAsset.objects.filter(pk=asset.pk, status__in=statuses).update(
        status=Status.QUEUED,
        version=F("version") + 1,
        progress=0,
        error="",
        heartbeat_at=None,
        attempts=0,
        updated_at=timezone.now(),
    )
    if changed != 1:
        raise Conflict(refusal)
    asset.refresh_from_db()
    record(action=action, obj=asset, after={"version": asset.version})
    _enqueue_transcode(asset.pk, asset.version)
    return asset


@transaction.atomic
def asset_cancel(*, asset: MediaAsset) -> MediaAsset:
    """Stop a queued or running job; a running worker notices at its next heartbeat."""
    changed = MediaAsset.objects.filter(pk=asset.pk, status__in=MediaAsset.ACTIVE_STATUSES).update(
        status=Status.CANCELLED,
        error="Cancelled by staff.",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if changed != 1:
        raise Conflict(
            f"Only a queued or running job can be cancelled (this one is {asset.status})."
        )
    asset.refresh_from_db()
    record(action="media.asset_cancel", obj=asset, after={"version": asset.version})
    enqueue_delete_prefix(asset.version_prefix)
    return asset


# --- sharing (the demo: many titles, a few encodes) ----------------------------------------------


@transaction.atomic
def asset_share(
    *, source: MediaAsset, title: Title | None = None, episode: Episode | None = None
) -> MediaAsset:
    """A ready asset for another title/episode that serves `source`'s encoded version."""
    if source.status != Status.READY or not source.content_key:
        raise Conflict("Only a ready asset can be shared.")
    copy_fields = [
        *MediaAsset.SOURCE_FIELDS,
        *MediaAsset.PROBED_FIELDS,
        *MediaAsset.SERVED_FIELDS,
        "ladder_method",
        "complexity",
        "ffmpeg_command",
    ]
    now = timezone.now()
    asset = MediaAsset.objects.create(
        title=title,
        episode=episode,
        status=Status.READY,
        progress=100,
        version=source.ready_version or 1,
        ready_at=now,
        finished_at=now,
        **{name: getattr(source, name) for name in copy_fields},
    )
    ready = source.ready_version or 0
    _copy_to(asset, source.renditions.filter(version=ready))
    _copy_to(asset, source.audio_renditions.filter(version=ready))
    return asset


def _copy_to(asset: MediaAsset, rows: Any) -> None:
    """The same rows (video or audio renditions) for `asset`'s current version."""
    model = rows.model
    model.objects.bulk_create(
        model(
            asset=asset,
            version=asset.version,
            **{
                f.name: getattr(row, f.name)
                for f in model._meta.concrete_fields
                if f.name not in ("id", "asset", "version")
            },
        )
        for row in rows
    )


# --- the sweeper --------------------------------------------------------------------------------


def sweep_stale(*, now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """Requeue running jobs whose worker stopped beating; resend long-queued messages; remove
    scratch folders of dead jobs on this host."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.MEDIA_HEARTBEAT_TIMEOUT)
    counts = {"requeued": 0, "failed": 0, "resent": 0, "scratch_removed": 0}
    stale = list(
        MediaAsset.objects.filter(
            status__in=MediaAsset.RUNNING_STATUSES, heartbeat_at__lt=stale_before
        )
        .order_by("pk")
        .values("pk", "version", "status", "attempts", "uuid")[:batch]
    )
    for row in stale:
        with transaction.atomic():
            base = MediaAsset.objects.filter(
                pk=row["pk"],
                version=row["version"],
                status=row["status"],
                heartbeat_at__lt=stale_before,
            )
            old_prefix = f"hls/{row['uuid']}/{row['version']}"
            if row["attempts"] >= settings.MEDIA_MAX_ATTEMPTS:
                if base.update(
                    status=Status.FAILED,
                    error=f"the worker was lost {row['attempts']} times (heartbeat timed out)",
                    finished_at=now,
                    updated_at=now,
                ):
                    counts["failed"] += 1
                    enqueue_delete_prefix(old_prefix)
                continue
            if base.update(
                status=Status.QUEUED,
                version=F("version") + 1,
                progress=0,
                heartbeat_at=None,
                error="",
                updated_at=now,
            ):
                counts["requeued"] += 1
                Rendition.objects.filter(asset_id=row["pk"], version=row["version"]).delete()
                AudioRendition.objects.filter(asset_id=row["pk"], version=row["version"]).delete()
                enqueue_delete_prefix(old_prefix)
                _enqueue_transcode(row["pk"], row["version"] + 1)
    resend_before = now - timedelta(seconds=settings.MEDIA_QUEUED_RESEND_AFTER)
    queued = MediaAsset.objects.filter(status=Status.QUEUED, updated_at__lt=resend_before)
    for pk, version in queued.order_by("pk").values_list("pk", "version")[:batch]:
        with transaction.atomic():
            # Touch it so it is resent once per period, not on every sweep.
            if MediaAsset.objects.filter(pk=pk, version=version, status=Status.QUEUED).update(
                updated_at=now
            ):
                counts["resent"] += 1
                _enqueue_transcode(pk, version)
    counts["scratch_removed"] = sweep_scratch()
    return counts
