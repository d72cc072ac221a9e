"""Celery adapters for playback: the beat task that flushes buffered positions."""

from celery import shared_task

from catalog.services import playback


@shared_task(name="catalog.tasks.playback_flush_positions")
def playback_flush_positions() -> int:
    """Write buffered heartbeat positions in bounded batches (safe to run twice)."""
    return playback.flush_positions()
