"""Writes of the cdn app. Every configuration change bumps the steering config version."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record
from cdn.models import CoverageZone, Edge, EdgeContent, Site, SteeringDecision
from cdn.snapshot import EdgeHealth
from streamsite.errors import ValidationFailed
from streamsite.retention import delete_oldest

log = logging.getLogger(__name__)


def config_changed() -> None:
    """Tell every steering process to rebuild its snapshot (after the write commits)."""
    from cdn.health import get_store

    def bump() -> None:
        try:
            get_store().bump_config()
        except Exception:  # noqa: BLE001 - the store is away: processes rebuild when it is back
            log.warning("cdn: could not bump the config version", exc_info=True)

    transaction.on_commit(bump)


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, extra={"fields": {field: [message]}})


@transaction.atomic
def coverage_zones_import(*, data: str | bytes | dict[str, Any]) -> dict[str, int]:
    """Import a Traffic-Control-style coverage-zone file; replaces the zones of each named site.

    Format: {"coverageZones": {"<site name>": {"network": ["10.0.0.0/8"], "network6": [...]}}}.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise _fail("file", f"Not JSON: {exc}") from None
    zones = data.get("coverageZones") if isinstance(data, dict) else None
    if not isinstance(zones, dict):
        raise _fail("file", "Expected an object with a coverageZones object.")
    sites = {s.name: s for s in Site.objects.filter(name__in=list(zones))}
    missing = sorted(set(zones) - set(sites))
    if missing:
        raise _fail("file", f"Unknown sites: {', '.join(missing)}.")
    rows: list[CoverageZone] = []
    seen: set[str] = set()
    for name, zone in zones.items():
        if not isinstance(zone, dict):
            raise _fail("file", f"Zone {name} must be an object.")
        for key, version in (("network", 4), ("network6", 6)):
            for cidr in zone.get(key) or []:
                try:
                    net = ipaddress.ip_network(str(cidr), strict=False)
                except ValueError:
                    raise _fail("file", f"Bad network {cidr!r} in {name}.") from None
                if net.version != version:
                    raise _fail("file", f"{cidr} is not IPv{version} (in {name}.{key}).")
                text = str(net)
                if text in seen:
                    raise _fail("file", f"{text} appears twice.")
                seen.add(text)
                rows.append(CoverageZone(site=sites[name], cidr=text))
    CoverageZone.objects.filter(site__in=sites.values()).delete()
    CoverageZone.objects.filter(cidr__in=seen).delete()
    CoverageZone.objects.bulk_create(rows, batch_size=2000)
    record(
        action="cdn.coverage_import",
        object_type="cdn.coveragezone",
        after={"sites": sorted(sites), "zones": len(rows)},
    )
    config_changed()
    return {"sites": len(sites), "zones": len(rows)}


@transaction.atomic
def edge_set_admin_state(*, edge: Edge, admin_state: str) -> Edge:
    if admin_state not in Edge.AdminState.values:
        raise _fail("admin_state", f"One of {', '.join(Edge.AdminState.values)}.")
    Edge.objects.filter(pk=edge.pk).update(admin_state=admin_state)
    record(
        action="cdn.edge_admin_state",
        obj=edge,
        before={"admin_state": edge.admin_state},
        after={"admin_state": admin_state},
    )
    edge.admin_state = admin_state
    config_changed()
    return edge


def edges_save_health(*, health: dict[int, EdgeHealth], at: datetime | None = None) -> None:
    """The poller's copy of live health into the database, for staff pages and cold starts."""
    at = at or timezone.now()
    for edge_id, state in health.items():
        Edge.objects.filter(pk=edge_id).update(
            healthy=state.up, load=state.load, health_checked_at=at
        )


_buffer: list[SteeringDecision] = []
_buffer_lock = threading.Lock()
_last_flush = [time.monotonic()]


def decision_record(*, decision: Any, at: datetime | None = None) -> None:
    """Keep a decision for analytics and demand prediction.

    CDN_DECISION_BATCH=1 (default) inserts at once; a larger batch buffers in the process and
    writes with one bulk insert every N decisions or CDN_DECISION_FLUSH_SECONDS, whichever comes
    first (a crash loses at most one batch of analytics rows, never a viewer's stream).
    """
    row = SteeringDecision(
        id=decision.id,
        created_at=at or timezone.now(),
        client_ip=decision.client_ip,
        country=decision.country or "",
        content_key=decision.content_key,
        located_by=decision.located_by,
        site_name=decision.site or "",
        urls=decision.urls,
        edges=decision.edges,
    )
    batch = settings.CDN_DECISION_BATCH
    if batch <= 1:
        row.save(force_insert=True)
        return
    with _buffer_lock:
        _buffer.append(row)
        due = (
            len(_buffer) >= batch
            or time.monotonic() - _last_flush[0] >= settings.CDN_DECISION_FLUSH_SECONDS
        )
    if due:
        decisions_flush()


def decisions_flush() -> int:
    with _buffer_lock:
        rows = _buffer[:]
        _buffer.clear()
        _last_flush[0] = time.monotonic()
    if rows:
        SteeringDecision.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def decisions_prune(*, before: datetime, batch: int = 5000) -> int:
    """Delete one batch of decisions older than `before`; returns how many went."""
    return delete_oldest(
        SteeringDecision.objects.filter(created_at__lt=before), order_by="created_at", batch=batch
    )


def edge_count_cache_status(*, edge_id: int, statuses: Iterable[str]) -> None:
    from django.db.models import F

    statuses = list(statuses)
    hits = sum(1 for s in statuses if s == "HIT")
    misses = len(statuses) - hits
    if statuses:
        Edge.objects.filter(pk=edge_id).update(hits=F("hits") + hits, misses=F("misses") + misses)


def edge_content_plan(*, edge: Edge, content_key: str, score: float) -> tuple[EdgeContent, bool]:
    """Upsert what an edge should hold; a finished entry is left alone (idempotent)."""
    row, created = EdgeContent.objects.get_or_create(
        edge=edge,
        content_key=content_key,
        defaults={"score": score, "updated_at": timezone.now()},
    )
    if not created and row.score != score:
        EdgeContent.objects.filter(pk=row.pk).update(score=score)
        row.score = score
    return row, created
