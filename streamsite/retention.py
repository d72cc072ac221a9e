"""Retention: deleting what is past its keep-until in bounded batches, oldest first.

Each batch is one short statement, so an hourly prune never holds a long lock on a table that
requests write to; the Celery task that calls it re-enqueues itself while a full batch went.
"""

from __future__ import annotations

from django.db.models import QuerySet


def delete_oldest(rows: QuerySet, *, order_by: str, batch: int) -> int:
    """Delete at most `batch` of `rows`, the oldest by `order_by` first; returns how many went."""
    ids = list(rows.order_by(order_by).values_list("pk", flat=True)[:batch])
    if not ids:
        return 0
    deleted, _ = rows.model._default_manager.filter(pk__in=ids).delete()
    return deleted
