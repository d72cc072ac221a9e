"""Celery adapters for playback: flushing buffered positions, recounting popularity, pruning
QoE minute sums."""

from celery import shared_task
from django.utils import timezone

from playback.services import activity, positions, qoe


@shared_task(name="playback.tasks.flush_positions")
def flush_positions() -> int:
    """Write buffered heartbeat positions in bounded batches (safe to run twice)."""
    return positions.flush_positions()


@shared_task(name="playback.tasks.refresh_popularity", ignore_result=True)
def refresh_popularity() -> int:
    """Recount each title's popularity from viewing activity (whole recount: safe to repeat)."""
    return activity.popularity_refresh()


@shared_task(name="playback.tasks.prune_qoe_minutes")
def prune_qoe_minutes() -> int:
    """Hourly: delete one batch of old QoE minute sums; re-enqueue while a full batch went."""
    batch = 5000
    deleted = qoe.qoe_minutes_prune(before=timezone.now() - qoe.MINUTE_RETENTION, batch=batch)
    if deleted == batch:
        prune_qoe_minutes.apply_async(countdown=1)
    return deleted
