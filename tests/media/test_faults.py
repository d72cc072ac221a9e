"""Faults around the media pipeline: a full disk at upload, orphaned sources, a transcode
worker that dies (heartbeat, resume within two minutes, its scratch removed)."""

from __future__ import annotations

import errno
import os
from collections import namedtuple
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone

from media import recovery, services, storage, transcode
from media.models import MediaAsset
from tests.factories import UserFactory
from tests.media.conftest import stored_keys
from tests.media.factories import movie

pytestmark = pytest.mark.django_db

LIST = "/api/v1/media/assets"
Usage = namedtuple("Usage", "total used free")
BODY = b"\x00\x00\x00\x18ftypmp42" + b"x" * 300_000


def _upload(name: str = "film.mp4"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, BODY, content_type="video/mp4")


@pytest.fixture
def staff_api(db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True, is_superuser=True))
    return client


# --- a full disk at upload ------------------------------------------------------------------


def test_an_upload_the_disk_has_no_room_for_gets_507_and_stores_nothing(
    staff_api, media_root, settings, monkeypatch
):
    settings.MEDIA_FREE_SPACE_RESERVE_MB = 1
    reserve = 1024 * 1024
    monkeypatch.setattr(
        storage.shutil, "disk_usage", lambda path: Usage(10**9, 10**9, reserve + 100_000)
    )
    title = movie()
    response = staff_api.post(LIST, {"file": _upload(), "title_id": title.pk}, format="multipart")
    assert response.status_code == 507
    assert response.json()["error"] == {
        "status": 507,
        "code": "insufficient_storage",
        "message": "The media disk is full: this file needs 0.3 MB and 0.1 MB are free. "
        "Nothing was stored; free space or add storage, then upload again.",
    }
    assert stored_keys(media_root) == []
    assert MediaAsset.objects.count() == 0


def test_a_disk_that_fills_during_the_write_gets_507_and_the_part_is_removed(
    staff_api, media_root, monkeypatch
):
    written: list[Path] = []

    def fill_up(self, name, content):
        # Write what a real disk would take before ENOSPC: the first half of the file.
        path = Path(default_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read()[: len(BODY) // 2])
        written.append(path)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", fill_up)
    title = movie()
    response = staff_api.post(LIST, {"file": _upload(), "title_id": title.pk}, format="multipart")
    assert response.status_code == 507
    assert response.json()["error"]["message"] == (
        "The media disk filled up while the file was being stored. Nothing was kept; free "
        "space or add storage, then upload again."
    )
    assert len(written) == 1 and not written[0].exists()
    assert not written[0].parent.exists()  # nor its sources/<uuid>/ folder
    assert stored_keys(media_root) == []
    assert MediaAsset.objects.count() == 0


def test_another_storage_error_still_removes_the_part_and_is_not_a_507(media_root, monkeypatch):
    def broken(self, name, content):
        path = Path(default_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"part")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "_save", broken)
    with pytest.raises(OSError) as caught:
        services.asset_create(upload=_upload(), title=movie())
    assert caught.value.errno == errno.EIO
    assert stored_keys(media_root) == []


def test_a_full_upload_spool_gets_507_too(staff_api, media_root, monkeypatch):
    from django.core.files import uploadhandler

    def no_space(self, raw_data, start):
        raise OSError(errno.ENOSPC, "No space left on device")

    for handler in (
        uploadhandler.MemoryFileUploadHandler,
        uploadhandler.TemporaryFileUploadHandler,
    ):
        monkeypatch.setattr(handler, "receive_data_chunk", no_space)
    title = movie()
    response = staff_api.post(LIST, {"file": _upload(), "title_id": title.pk}, format="multipart")
    assert (response.status_code, response.json()["error"]["message"]) == (
        507,
        "The server's upload space is full; nothing was stored. Try again later.",
    )
    assert stored_keys(media_root) == []
    assert MediaAsset.objects.count() == 0


# --- orphaned sources ---------------------------------------------------------------------


def _age(root: Path, key: str, seconds: int) -> None:
    then = (timezone.now() - timedelta(seconds=seconds)).timestamp()
    os.utime(root / key, (then, then))


def test_the_orphan_sweep_deletes_old_sources_without_rows_and_nothing_else(media_root, settings):
    settings.MEDIA_ORPHAN_GRACE_SECONDS = 3600
    kept = services.asset_create(upload=_upload("kept.mp4"), title=movie())
    old_orphan = "sources/0b7e7c4e-0000-4000-8000-000000000001/lost.mp4"
    new_orphan = "sources/0b7e7c4e-0000-4000-8000-000000000002/in-flight.mp4"
    for key in (old_orphan, new_orphan):
        default_storage.save(key, ContentFile(b"bytes"))
    for key in (kept.source_key, old_orphan):
        _age(media_root, key, 3601)
    _age(media_root, new_orphan, 3599)

    assert recovery.sweep_orphans() == {"checked": 3, "deleted": 1}
    assert stored_keys(media_root) == sorted([kept.source_key, new_orphan])
    assert not (media_root / old_orphan).parent.exists()
    assert recovery.sweep_orphans() == {"checked": 2, "deleted": 0}


def test_the_orphan_sweep_is_in_beat_on_the_default_queue():
    from streamsite.taskqueues import queue_for

    entry = django_settings.CELERY_BEAT_SCHEDULE["media.sweep-orphans"]
    assert entry["task"] == "media.tasks.media_sweep_orphans"
    assert queue_for("media.tasks.media_sweep_orphans") == "default"


# --- a dead transcode worker ---------------------------------------------------------------


def _running(title=None, *, beat_at=None, version: int = 1) -> MediaAsset:
    return MediaAsset.objects.create(
        title=title or movie(),
        status=MediaAsset.Status.TRANSCODING,
        version=version,
        attempts=1,
        heartbeat_at=beat_at or timezone.now(),
        source_key="sources/x/film.mp4",
    )


def test_a_killed_transcode_is_resumed_once_its_heartbeat_is_stale_and_not_before(
    media_root, settings, monkeypatch
):
    sent = []
    monkeypatch.setattr(services, "_enqueue_transcode", lambda pk, v: sent.append((pk, v)))
    last_beat = timezone.now()
    asset = _running(beat_at=last_beat)
    timeout = timedelta(seconds=settings.MEDIA_HEARTBEAT_TIMEOUT)

    assert services.sweep_stale(now=last_beat + timeout - timedelta(seconds=1))["requeued"] == 0
    assert sent == []
    assert services.sweep_stale(now=last_beat + timeout + timedelta(seconds=1))["requeued"] == 1
    asset.refresh_from_db()
    assert (asset.status, asset.version, sent) == ("queued", 2, [(asset.pk, 2)])


def test_the_worst_case_from_a_kill_to_the_resume_is_under_two_minutes(settings):
    # A worker killed just after a heartbeat: stale after the timeout, seen at the next sweep.
    sweep_every = settings.CELERY_BEAT_SCHEDULE["media.sweep-stale"]["schedule"]
    assert (settings.MEDIA_HEARTBEAT_TIMEOUT, sweep_every) == (60, 30.0)
    assert settings.MEDIA_HEARTBEAT_TIMEOUT + sweep_every < 120
    # Three beats fit in the timeout, so one lost write never looks like a dead worker.
    assert settings.MEDIA_HEARTBEAT_SECONDS * 3 <= settings.MEDIA_HEARTBEAT_TIMEOUT


def test_the_sweeper_removes_the_scratch_of_dead_jobs_and_keeps_a_live_one(
    media_root, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(services, "_enqueue_transcode", lambda pk, v: None)
    work = Path(settings.MEDIA_WORK_DIR)
    dead = _running(beat_at=timezone.now() - timedelta(minutes=5))
    live = _running()
    gone = _running()
    dirs = {
        "dead": work / f"ss-media-{dead.pk}-v1-abc123",
        "live": work / f"ss-media-{live.pk}-v1-def456",
        "old version of live": work / f"ss-media-{live.pk}-v0-aaa111",
        "row deleted": work / f"ss-media-{gone.pk}-v1-bbb222",
        "not ours": work / "something-else",
    }
    for d in dirs.values():
        (d / "out" / "240p").mkdir(parents=True)
        (d / "out" / "240p" / "seg_00000.ts").write_bytes(b"x" * 1000)
    gone.delete()

    counts = services.sweep_stale()
    assert counts == {"requeued": 1, "failed": 0, "resent": 0, "scratch_removed": 3}
    assert {name: d.exists() for name, d in dirs.items()} == {
        "dead": False,
        "live": True,
        "old version of live": False,
        "row deleted": False,
        "not ours": True,
    }


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_while_a_step_is_silent_and_stops_a_superseded_job(
    media_root,
):
    long_ago = timezone.now() - timedelta(minutes=10)
    asset = _running(beat_at=long_ago)
    job = transcode.Job(asset.pk, 1)
    with recovery.Heartbeat(job, 0.05) as heartbeat:
        # A silent step (no progress callbacks): only the thread writes.
        assert _wait(lambda: MediaAsset.objects.get(pk=asset.pk).heartbeat_at > long_ago)
        assert job.beat() is True
        MediaAsset.objects.filter(pk=asset.pk).update(status=MediaAsset.Status.CANCELLED)
        assert _wait(lambda: job.lost)
        assert job.beat() is False  # the pipeline stops at its next check
    assert not heartbeat.thread.is_alive()


def _wait(predicate, timeout: float = 30.0) -> bool:
    """Wait on a condition the thread brings about (bounded; not a timing assertion)."""
    import threading

    done = threading.Event()
    deadline = timezone.now() + timedelta(seconds=timeout)
    while timezone.now() < deadline:
        if predicate():
            return True
        done.wait(0.02)
    return predicate()


def test_a_job_run_leaves_no_scratch_behind(media_root, clips, django_capture_on_commit_callbacks):
    from tests.media.factories import upload_of

    with django_capture_on_commit_callbacks(execute=True):
        asset = services.asset_create(upload=upload_of(clips["240p"]), title=movie())
    asset.refresh_from_db()
    assert asset.status == "ready"
    work = Path(django_settings.MEDIA_WORK_DIR)
    assert sorted(p.name for p in work.iterdir() if p.name.startswith("ss-")) == []
