"""What a dead worker or an interrupted write leaves behind, and how it is found: the job's
heartbeat (a thread of its own), scratch folders of dead jobs, source files without rows."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.utils import timezone

from media import storage
from media.models import MediaAsset

if TYPE_CHECKING:
    from media.transcode import Job

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats for a job from a thread of its own every MEDIA_HEARTBEAT_SECONDS while it runs,
    whatever step it is in (a complexity probe, a poster, an upload to S3): a stale heartbeat
    then means the worker is gone, never that a step is slow. The sweeper relies on that."""

    def __init__(self, job: Job, interval: float):
        self.job, self.interval = job, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job.asset_id}")
        self.thread.daemon = True  # a worker killed mid-job takes it along: the beats stop

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=self.interval)

    def _run(self) -> None:
        try:
            while not self.stop.wait(self.interval):
                try:
                    if not self.job.touch():
                        # Cancelled or taken over: the pipeline stops at its next check. A row
                        # this connection cannot see (deleted; uncommitted, as inside a test's
                        # transaction) is left to the pipeline's own conditional writes.
                        self.job.lost = MediaAsset.objects.filter(pk=self.job.asset_id).exists()
                        return
                except Exception:  # noqa: BLE001 - a dropped connection: try again next beat
                    log.warning(
                        "heartbeat of media job %s failed", self.job.asset_id, exc_info=True
                    )
        finally:
            connection.close()  # this thread's own connection


SCRATCH_PREFIX = "ss-media-"
_SCRATCH_RE = re.compile(rf"^{SCRATCH_PREFIX}(\d+)-v(\d+)-")


def scratch_root() -> Path:
    return Path(settings.MEDIA_WORK_DIR or tempfile.gettempdir())


def sweep_scratch(root: Path | None = None) -> int:
    """Remove scratch folders of jobs that are no longer running at that version (their
    worker died, or the sweeper moved the job on); returns how many went. Scratch is local to
    a host, so the transcode worker runs this before each job, and the sweeper on its own."""
    root = root or scratch_root()
    try:
        found = [
            (path, int(m.group(1)), int(m.group(2)))
            for path in root.iterdir()
            if (m := _SCRATCH_RE.match(path.name)) and path.is_dir()
        ]
    except OSError:
        return 0
    if not found:
        return 0
    live = set(
        MediaAsset.objects.filter(
            pk__in={pk for _, pk, _ in found}, status__in=MediaAsset.RUNNING_STATUSES
        ).values_list("pk", "version")
    )
    removed = 0
    for path, pk, version in found:
        if (pk, version) not in live:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def sweep_orphans(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Delete source files no asset row points to, once older than MEDIA_ORPHAN_GRACE_SECONDS
    (an upload writes its file before its row commits; a crash between leaves an orphan)."""
    from django.core.files.storage import default_storage

    now = now or timezone.now()
    grace_before = now - timedelta(seconds=settings.MEDIA_ORPHAN_GRACE_SECONDS)
    counts = {"checked": 0, "deleted": 0}
    try:
        folders, _ = default_storage.listdir("sources")
    except FileNotFoundError:
        return counts
    for start in range(0, len(folders), batch):
        keys = [
            key
            for folder in folders[start : start + batch]
            for key in storage.walk(f"sources/{folder}")
        ]
        known = set(
            MediaAsset.objects.filter(source_key__in=keys).values_list("source_key", flat=True)
        )
        for key in keys:
            counts["checked"] += 1
            if key in known:
                continue
            try:
                if default_storage.get_modified_time(key) >= grace_before:
                    continue
            except FileNotFoundError:
                continue
            storage.discard(key)
            counts["deleted"] += 1
    return counts
