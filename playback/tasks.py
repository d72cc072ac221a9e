"""Celery adapters for playback: flushing buffered positions, recounting popularity."""

from celery import shared_task

from playback.services import activity, sessions


@shared_task(name="playback.tasks.flush_positions")
def flush_positions() -> int:
    """Write buffered heartbeat positions in bounded batches (safe to run twice)."""
    return sessions.flush_positions()


@shared_task(name="playback.tasks.refresh_popularity", ignore_result=True)
def refresh_popularity() -> int:
    """Recount each title's popularity from viewing activity (whole recount: safe to repeat)."""
    return activity.popularity_refresh()
