"""Celery adapters for the CDN: warming, the edges' lists, keep-hot touches, the edges' logs,
pruning."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from cdn import edge_lists, edge_logs, services, touches, warming
from cdn.models import EdgeContent

BATCH = 5000
logger = logging.getLogger(__name__)


@shared_task(name="cdn.tasks.warm_sites")
def warm_sites() -> dict:
    """Hourly: plan the sites inside their off-peak fill window, enqueue the pre-fetches,
    coldest key first: the hottest are read last, so they end nearest the head of each edge's
    LRU queue (an order the workers keep only roughly, as they run in parallel)."""
    planned = warming.warm()
    for ids in planned.values():
        for row_id in reversed(ids):
            warm_edge_content.delay_on_commit(row_id)  # type: ignore[attr-defined]
    return {site: len(ids) for site, ids in planned.items()}


@shared_task(name="cdn.tasks.prune_decisions")
def prune_decisions() -> int:
    """Hourly: delete one batch of old steering decisions; re-enqueue while a full batch went."""
    before = timezone.now() - timedelta(days=settings.CDN_DECISION_RETENTION_DAYS)
    deleted = services.decisions_prune(before=before, batch=BATCH)
    if deleted == BATCH:
        prune_decisions.apply_async(countdown=1)
    return deleted


@shared_task(name="cdn.tasks.warm_edge_content", rate_limit="10/s")
def warm_edge_content(row_id: int) -> str:
    """Pre-fetch one planned key through its edge, a bounded batch of files per run."""
    result = warming.prefetch(row_id=row_id)
    if result == "more":
        warm_edge_content.apply_async((row_id,), countdown=1)
    return result


#: a planned key untouched this long lost its message (a live one saves progress per file)
WARM_IDLE = timedelta(minutes=10)


@shared_task(name="cdn.tasks.sweep_warming")
def sweep_warming() -> int:
    """Every 5 minutes: re-enqueue pre-fetches whose message was lost (pending and idle) or
    whose worker died (filling past the lease), for sites inside their fill window. The
    pre-fetch claims its row, so a message sent twice fetches once."""
    now = timezone.now()
    sites = [s.pk for s in warming.sites_to_warm(now=now)]
    stale = list(
        EdgeContent.objects.filter(edge__site_id__in=sites)
        .filter(
            Q(status=EdgeContent.Status.PENDING, updated_at__lt=now - WARM_IDLE)
            | Q(status=EdgeContent.Status.FILLING, updated_at__lt=now - warming.LEASE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    for row_id in stale:
        warm_edge_content.delay_on_commit(row_id)  # type: ignore[attr-defined]
    return len(stale)


@shared_task(name="cdn.tasks.ingest_edge_logs")
def ingest_edge_logs() -> dict:
    """Every minute: read what the edges' access logs gained into per-minute traffic rows."""
    results = edge_logs.ingest_logs(
        paths=list(settings.CDN_EDGE_LOG_PATHS), max_bytes=settings.CDN_EDGE_LOG_MAX_BYTES
    )
    return {result.path: result.lines for result in results}


@shared_task(name="cdn.tasks.prune_edge_traffic")
def prune_edge_traffic() -> int:
    """Hourly: delete one batch of old per-minute edge traffic; re-enqueue while a full one went."""
    before = timezone.now() - edge_logs.TRAFFIC_RETENTION
    deleted = edge_logs.traffic_prune(before=before, batch=BATCH)
    if deleted == BATCH:
        prune_edge_traffic.apply_async(countdown=1)
    return deleted


@shared_task(name="cdn.tasks.decide_edge_lists")
def decide_edge_lists() -> int:
    """Hourly: every online edge's lists into CDN_EDGE_LISTS_DIR (`cdn.edge_lists`), where the
    origin serves them to the edges; returns the edges written (0: off, no directory set)."""
    if not settings.CDN_EDGE_LISTS_DIR:
        return 0
    lines = edge_lists.decide_and_write(
        out_dir=Path(settings.CDN_EDGE_LISTS_DIR), now=timezone.now()
    )
    for line in lines:
        logger.info("edge lists: %s", line)
    return len(lines)


@shared_task(name="cdn.tasks.touch_edges")
def touch_edges() -> int:
    """Hourly, after `cdn_edge_lists`: one touch run per edge in the LRU mode (cdn.touches)."""
    if not settings.CDN_EDGE_TOUCH_PERCENT:
        return 0
    ids = touches.edges_to_touch(now=timezone.now())
    for edge_id in ids:
        touch_edge.delay(edge_id)
    return len(ids)


@shared_task(name="cdn.tasks.touch_edge")
def touch_edge(edge_id: int) -> str:
    """Send one edge its keep-hot touches, coldest first."""
    return touches.touch_edge(edge_id=edge_id)
