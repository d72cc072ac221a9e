"""Search index upkeep: drain dirty titles in bounded batches."""

from __future__ import annotations

from celery import shared_task

BATCH_SIZE = 500


@shared_task(name="catalog.tasks.search.refresh_search_index", ignore_result=True)
def refresh_search_index() -> int:
    """Rebuild one batch; if the batch was full, queue the next one."""
    from catalog.services.search_index import search_index_refresh

    n = search_index_refresh(batch_size=BATCH_SIZE)
    if n == BATCH_SIZE:
        refresh_search_index.delay()
    return n
