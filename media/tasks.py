"""Celery adapters of the media pipeline (transcode runs on the `transcode` queue)."""

from __future__ import annotations

from celery import shared_task

from media import recovery, services, storage, transcode


# The transcode queue's limits apply (soft 3600 s / hard 3900 s). A killed worker's message is
# redelivered at once but claims nothing (the job is still running at its version); the sweeper
# resumes the job once its heartbeat is stale.
@shared_task(name="media.tasks.media_transcode")
def media_transcode(asset_id: int, version: int) -> str:
    return transcode.asset_process(asset_id=asset_id, version=version)


@shared_task(name="media.tasks.media_delete_prefix")
def media_delete_prefix(prefix: str) -> int:
    return storage.delete_prefix(prefix)


@shared_task(name="media.tasks.media_sweep_stale")
def media_sweep_stale() -> dict[str, int]:
    return services.sweep_stale()


@shared_task(name="media.tasks.media_sweep_orphans")
def media_sweep_orphans() -> dict[str, int]:
    return recovery.sweep_orphans()
