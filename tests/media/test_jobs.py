"""Never lost: the sweeper recovers dead workers exactly once; retry and cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from media import services, transcode
from media.models import MediaAsset, Rendition
from media.tasks import media_sweep_stale, media_transcode
from streamsite.errors import Conflict
from tests.media.conftest import stored_keys
from tests.media.factories import movie, upload_of

pytestmark = pytest.mark.django_db


def _queued_asset(clips) -> MediaAsset:
    """An uploaded asset whose job message was never run (as if the worker never got it)."""
    return services.asset_create(upload=upload_of(clips["240p"]), title=movie())


def _dead_worker(asset: MediaAsset, *, minutes: float = 10, attempts: int = 1) -> None:
    """Leave the job as a worker that died mid-encode would: running, stale, half-written."""
    MediaAsset.objects.filter(pk=asset.pk).update(
        status=MediaAsset.Status.TRANSCODING,
        attempts=attempts,
        progress=40,
        heartbeat_at=timezone.now() - timedelta(minutes=minutes),
    )
    default_storage.save(f"{asset.version_prefix}/240p/seg_00000.ts", ContentFile(b"half"))
    Rendition.objects.create(
        asset=asset,
        version=asset.version,
        width=320,
        height=240,
        target_bitrate=1,
        bandwidth=1,
        average_bandwidth=1,
        codecs="avc1.640015",
        frame_rate=25,
        playlist_key=f"{asset.version_prefix}/240p/index.m3u8",
    )


@pytest.mark.slow
def test_sweeper_recovers_a_dead_worker_and_the_job_completes_exactly_once(
    media_root, clips, django_capture_on_commit_callbacks
):
    asset = _queued_asset(clips)
    _dead_worker(asset)
    with django_capture_on_commit_callbacks(execute=True):
        assert media_sweep_stale() == {
            "requeued": 1,
            "failed": 0,
            "resent": 0,
            "scratch_removed": 0,
        }
    asset.refresh_from_db()
    assert (asset.status, asset.version, asset.ready_version, asset.attempts) == ("ready", 2, 2, 2)
    assert list(asset.renditions.values_list("version", "height")) == [(2, 240)]
    assert stored_keys(media_root, f"hls/{asset.uuid}/1") == []
    files = stored_keys(media_root, "hls")
    # Redelivered or duplicated messages for either version do nothing now.
    with django_capture_on_commit_callbacks(execute=True):
        assert media_transcode(asset.pk, 1) == "skipped"
        assert media_transcode(asset.pk, 2) == "skipped"
        assert media_sweep_stale() == {
            "requeued": 0,
            "failed": 0,
            "resent": 0,
            "scratch_removed": 0,
        }
    assert stored_keys(media_root, "hls") == files
    assert Rendition.objects.filter(asset=asset).count() == 1
    assert MediaAsset.objects.get(pk=asset.pk).attempts == 2


def test_sweeper_leaves_a_job_with_a_fresh_heartbeat_alone(media_root, clips):
    asset = _queued_asset(clips)
    _dead_worker(asset, minutes=0.5)
    assert services.sweep_stale() == {"requeued": 0, "failed": 0, "resent": 0, "scratch_removed": 0}
    asset.refresh_from_db()
    assert (asset.status, asset.version, asset.progress) == ("transcoding", 1, 40)


def test_sweeper_fails_a_job_that_lost_its_worker_too_often(
    media_root, clips, settings, django_capture_on_commit_callbacks
):
    settings.MEDIA_MAX_ATTEMPTS = 3
    asset = _queued_asset(clips)
    _dead_worker(asset, attempts=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep_stale() == {
            "requeued": 0,
            "failed": 1,
            "resent": 0,
            "scratch_removed": 0,
        }
    asset.refresh_from_db()
    assert asset.status == "failed"
    assert asset.error == "the worker was lost 3 times (heartbeat timed out)"
    assert stored_keys(media_root, "hls") == []


def test_sweeper_resends_a_job_stuck_in_queued(
    media_root, clips, settings, django_capture_on_commit_callbacks, monkeypatch
):
    asset = _queued_asset(clips)
    sent = []
    monkeypatch.setattr(services, "_enqueue_transcode", lambda pk, v: sent.append((pk, v)))
    later = timezone.now() + timedelta(seconds=settings.MEDIA_QUEUED_RESEND_AFTER + 1)
    assert services.sweep_stale(now=later) == {
        "requeued": 0,
        "failed": 0,
        "resent": 1,
        "scratch_removed": 0,
    }
    assert services.sweep_stale(now=later) == {
        "requeued": 0,
        "failed": 0,
        "resent": 0,
        "scratch_removed": 0,
    }
    assert sent == [(asset.pk, 1)]


@pytest.mark.slow
def test_a_failed_job_can_be_retried_under_a_new_version(
    media_root, clips, django_capture_on_commit_callbacks
):
    asset = _queued_asset(clips)
    MediaAsset.objects.filter(pk=asset.pk).update(status="failed", error="boom", attempts=1)
    asset.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_retry(asset=asset)
    asset.refresh_from_db()
    assert (asset.status, asset.version, asset.error, asset.attempts) == ("ready", 2, "", 1)


def test_retry_refuses_a_job_that_is_not_failed(media_root, clips):
    asset = _queued_asset(clips)
    with pytest.raises(Conflict, match="Only a failed or cancelled job can be retried"):
        services.asset_retry(asset=asset)
    asset.refresh_from_db()
    assert (asset.status, asset.version) == ("queued", 1)


def test_cancelling_a_queued_job_means_its_message_does_nothing(
    media_root, clips, django_capture_on_commit_callbacks
):
    asset = _queued_asset(clips)
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_cancel(asset=asset)
    assert media_transcode(asset.pk, 1) == "skipped"
    asset.refresh_from_db()
    assert (asset.status, asset.error) == ("cancelled", "Cancelled by staff.")
    assert asset.renditions.count() == 0
    with pytest.raises(Conflict):
        services.asset_cancel(asset=asset)


@pytest.mark.slow
def test_cancelling_a_running_encode_stops_ffmpeg_and_leaves_nothing(
    media_root, clips, monkeypatch, django_capture_on_commit_callbacks
):
    asset = _queued_asset(clips)
    real_progress = transcode._progress

    def cancel_at_first_report(job, start, end):
        report = real_progress(job, start, end)

        def wrapped(fraction: float) -> bool:
            services.asset_cancel(asset=MediaAsset.objects.get(pk=job.asset_id))
            job.last_beat = -1e9  # force the next heartbeat to be written (and refused)
            return report(fraction)

        return wrapped

    monkeypatch.setattr(transcode, "_progress", cancel_at_first_report)
    assert transcode.asset_process(asset_id=asset.pk, version=1) == "superseded"
    asset.refresh_from_db()
    assert asset.status == "cancelled"
    assert asset.renditions.count() == 0
    assert stored_keys(media_root, "hls") == []
