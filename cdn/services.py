"""Writes of the cdn app. Every configuration change bumps the steering config version."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import record
from cdn.admission import EdgePolicy
from cdn.edge_mode import Arms, choose, files_per_title, may_choose
from cdn.keep_hot import Heat
from cdn.models import (
    CoverageZone,
    Edge,
    EdgeContent,
    EdgeLookups,
    EdgeMode,
    EdgePinList,
    Site,
    SteeringDecision,
)
from cdn.snapshot import EdgeHealth
from streamsite.errors import ValidationFailed
from streamsite.prebuilt import insert_row
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


def decision_row(*, decision: Any, at: datetime | None = None) -> SteeringDecision:
    """The play log's row of a steering decision, not saved."""
    return SteeringDecision(
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


def decision_record(*, decision: Any, at: datetime | None = None) -> None:
    """Keep a decision for analytics and demand prediction.

    CDN_DECISION_BATCH=1 (default) inserts at once; a larger batch buffers in the process and
    writes with one bulk insert every N decisions or CDN_DECISION_FLUSH_SECONDS, whichever comes
    first (a crash loses at most one batch of analytics rows, never a viewer's stream).
    """
    row = decision_row(decision=decision, at=at)
    batch = settings.CDN_DECISION_BATCH
    if batch <= 1:
        insert_row(row)  # the INSERT built once (streamsite.prebuilt), save()'s signals sent
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


def edge_contents_plan(
    wanted: Iterable[tuple[int, str, float]], *, refresh_before: datetime | None = None
) -> list[EdgeContent]:
    """Upsert what edges should hold, `(edge id, content key, score)` each, in a fixed number
    of statements whatever their count; returns the rows in the order given (a pair named
    twice counts once, at its first place). An entry finished at or after `refresh_before` is
    left alone (planning twice in one fill window is harmless); one finished before it is due
    again, from its master playlist (`cdn.warming.plan_window`), and a conditional update
    makes two planners refresh it once."""
    scores: dict[tuple[int, str], float] = {}
    for edge_id, key, score in wanted:
        scores.setdefault((edge_id, key), score)
    if not scores:
        return []
    now = timezone.now()
    EdgeContent.objects.bulk_create(
        [
            EdgeContent(edge_id=edge_id, content_key=key, score=score, updated_at=now)
            for (edge_id, key), score in scores.items()
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    by_edge: dict[int, list[str]] = {}
    for edge_id, key in scores:
        by_edge.setdefault(edge_id, []).append(key)

    def read() -> dict[tuple[int, str], EdgeContent]:
        match = Q()
        for edge_id, keys in by_edge.items():
            match |= Q(edge_id=edge_id, content_key__in=keys)
        return {(r.edge_id, r.content_key): r for r in EdgeContent.objects.filter(match)}

    rows = read()
    rescored = [r for pair, r in rows.items() if r.score != scores[pair]]
    for row in rescored:
        row.score = scores[(row.edge_id, row.content_key)]
    EdgeContent.objects.bulk_update(rescored, ["score"], batch_size=500)
    stale = [
        r.pk
        for r in rows.values()
        if refresh_before is not None
        and r.status == EdgeContent.Status.DONE
        and r.updated_at < refresh_before
    ]
    if stale:
        EdgeContent.objects.filter(
            pk__in=stale, status=EdgeContent.Status.DONE, updated_at__lt=refresh_before
        ).update(
            status=EdgeContent.Status.PENDING, queue=[], files_done=0, bytes_done=0, updated_at=now
        )
        rows = read()  # as the refresh (ours or a concurrent planner's) left them
    return [rows[pair] for pair in scores]


def edge_pin_lists_record(*, pinned: Mapping[int, list[str]], decided_at: datetime) -> int:
    """Keep each edge's pin list (edge id → keys, hottest first) as `cdn_edge_lists` wrote
    it, for warming to fill: one upsert of every edge's row, replacing what the last run kept.
    Returns the edges recorded."""
    rows = [
        EdgePinList(edge_id=edge_id, keys=list(keys), decided_at=decided_at)
        for edge_id, keys in sorted(pinned.items())
    ]
    EdgePinList.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["edge"], update_fields=["keys", "decided_at"]
    )
    return len(rows)


# --- Per-edge mode of real edges (cdn.edge_mode) ----------------------------------------------


def edge_mode_policy() -> EdgePolicy:
    """The policy real edges run the per-edge mode under: the simulator's thresholds, margin
    and min_uses, every `CDN_EDGE_MODE_EVERY` seconds (0: off), with keep-hot touches of
    `CDN_EDGE_TOUCH_PERCENT` % of the cache (0: none)."""
    return EdgePolicy(
        mode_every=float(settings.CDN_EDGE_MODE_EVERY),
        touch_share=settings.CDN_EDGE_TOUCH_PERCENT / 100,
    )


def edge_mode_capacity(*, cache_bytes: int, lookups: int, lookup_bytes: int) -> int:
    """The arms' size in files: `CDN_EDGE_MODE_FILES`, or the edge's cache size over the mean
    body bytes of its lookups so far (0 before the first; range requests and aborted transfers
    send less than a whole file, so the estimate leans to more files than the cache holds)."""
    if settings.CDN_EDGE_MODE_FILES:
        return int(settings.CDN_EDGE_MODE_FILES)
    if lookups <= 0:
        return 0
    return max(1, cache_bytes * lookups // max(1, lookup_bytes))


def _edge_mode_rows(names: Iterable[str]) -> list[EdgeMode]:
    """The EdgeMode rows of the edges named, created when missing, locked in pk order."""
    edges = list(Edge.objects.filter(name__in=set(names)).order_by("pk"))
    existing = set(EdgeMode.objects.filter(edge__in=edges).values_list("edge_id", flat=True))
    for edge in edges:
        if edge.pk not in existing:
            try:
                with transaction.atomic():
                    EdgeMode.objects.create(edge=edge)
            except IntegrityError:
                pass  # another run created it
    return list(
        EdgeMode.objects.select_for_update()
        .select_related("edge")
        .filter(edge__in=edges)
        .order_by("pk")
    )


Lookup = tuple[str, str, float, int]  # (cache key, title, epoch seconds, body bytes)


def edge_modes_log(*, lookups: dict[str, list[Lookup]], now: datetime) -> int:
    """Keep each edge's new lookups, in log order, for its arms (`edge_modes_replay`); call
    inside the transaction that moves the log's cursor, so a line is kept once. Costs the
    lookups themselves: the arms are not loaded here. Edges not configured are left out.
    Returns the lookups kept."""
    if not edge_mode_policy().mode_every or not lookups:
        return 0
    edges = Edge.objects.filter(name__in=[n for n, batch in lookups.items() if batch])
    kept = 0
    for edge in edges.order_by("pk"):
        batch = lookups[edge.name]
        data = zlib.compress(json.dumps(batch, separators=(",", ":")).encode(), 1)
        EdgeLookups.objects.create(edge=edge, created_at=now, lookups=len(batch), data=data)
        kept += len(batch)
    return kept


def edge_modes_replay(rows: Iterable[EdgeMode], *, now: datetime) -> int:
    """Replay every lookup kept for these edges (rows locked by the caller), oldest first,
    through their arms under the lists recorded for them, then drop what was replayed: the
    arms are loaded and saved once per call, however many ingest runs kept lookups. Returns the
    lookups replayed."""
    policy = edge_mode_policy()
    replayed = 0
    for row in rows:
        pending = list(EdgeLookups.objects.filter(edge=row.edge_id).order_by("pk"))
        if not pending:
            continue
        batch: list[Lookup] = []
        for kept in pending:
            batch.extend(tuple(item) for item in json.loads(zlib.decompress(bytes(kept.data))))
        row.lookups += len(batch)
        row.lookup_bytes += sum(int(b) for _, _, _, b in batch)
        capacity = edge_mode_capacity(
            cache_bytes=row.edge.cache_bytes, lookups=row.lookups, lookup_bytes=row.lookup_bytes
        )
        if row.arms:
            arms = Arms.loads(
                bytes(row.arms),
                min_uses=policy.min_uses,
                inactive=policy.inactive,
                valid=policy.valid,
            )
            if arms.pin.capacity != capacity:
                arms.resize(capacity)
        else:
            arms = Arms(capacity, policy.min_uses, inactive=policy.inactive, valid=policy.valid)
        keys = [str(key) for key, _, _, _ in batch]
        times = [float(at) for _, _, at, _ in batch]
        arms.feed(
            keys,
            times,
            [str(title) for _, title, _, _ in batch],
            pinned=set(row.pinned),
            played=set(row.played),
        )
        if policy.touch_share > 0:
            # The files to touch from now on, from every lookup so far; the LRU arm gets the
            # touches now, as the edge does in the LRU mode (cdn.touches, within the hour).
            half_life, keep = policy.touch_half_life_hours * 3600, policy.touch_keep
            limit = max(1, int(keep * capacity))
            heat = (
                Heat.loads(bytes(row.heat), half_life=half_life, limit=limit)
                if row.heat
                else Heat(half_life, limit=limit)
            )
            heat.add(keys, times)
            row.touch_keys = heat.touch_list(int(policy.touch_share * capacity))
            arms.touch(row.touch_keys, at=now.timestamp())
            row.heat = heat.dumps()
        row.arms = arms.dumps()
        row.pin_hits, row.lru_hits = arms.hits
        row.capacity = capacity
        row.files_per_title = files_per_title(arms.lru)  # edge_mode_pin_titles reads it
        row.updated_at = now
        row.save(
            update_fields=[
                "arms",
                "lookups",
                "lookup_bytes",
                "pin_hits",
                "lru_hits",
                "capacity",
                "files_per_title",
                "updated_at",
                "heat",
                "touch_keys",
            ]
        )
        EdgeLookups.objects.filter(pk__in=[kept.pk for kept in pending]).delete()
        replayed += len(batch)
    return replayed


def edge_modes_catch_up(names: Iterable[str], *, now: datetime) -> int:
    """Replay every lookup kept for the edges named through their arms (the per-edge mode on),
    before their lists are decided; returns the lookups replayed."""
    if not edge_mode_policy().mode_every:
        return 0
    with transaction.atomic():
        return edge_modes_replay(_edge_mode_rows(names), now=now)


def edge_mode_pin_titles(names: Iterable[str]) -> dict[str, int]:
    """Per edge named that runs the per-edge mode and has arms, how many titles its pin list
    holds: as many as fit its whole cache, as the simulator sizes it (the arms' size in files
    over the files a title takes in the LRU arm, `cdn.edge_mode.files_per_title`, recorded
    at the last replay). Edges without arms yet are left out (`--pin-titles` applies)."""
    if not edge_mode_policy().mode_every:
        return {}
    rows = EdgeMode.objects.filter(
        edge__name__in=set(names), capacity__gt=0, files_per_title__gt=0
    ).values_list("edge__name", "capacity", "files_per_title")
    return {name: int(capacity / max(1.0, per_title)) for name, capacity, per_title in rows}


def edge_mode_choose(
    *, names: Iterable[str], pinned: dict[str, list[str]], played: list[str], now: datetime
) -> dict[str, tuple[str, bool]]:
    """Per edge named, (the mode it runs from now, whether that is a switch): the simulator's
    rule (`cdn.edge_mode.choose`), starting in "pin", the first choice once the arms have seen
    `mode_lookups` cache-sizes of lookups, then every `CDN_EDGE_MODE_EVERY` seconds. Records
    the edge's pin list and `played` as the lists its next lookups are replayed under."""
    policy = edge_mode_policy()
    out: dict[str, tuple[str, bool]] = {}
    if not policy.mode_every:
        return out
    with transaction.atomic():
        rows = _edge_mode_rows(names)
        # Everything logged so far, under the lists recorded last, before the choice.
        edge_modes_replay(rows, now=now)
        for row in rows:
            pin = row.mode == EdgeMode.Mode.PIN
            due = row.chosen_at is None or now >= row.chosen_at + timedelta(
                seconds=policy.mode_every
            )
            was = pin
            ready = row.capacity > 0 and may_choose(
                lookups=row.lookups, capacity=row.capacity, mode_lookups=policy.mode_lookups
            )
            if due and ready:
                pin = choose(pin=pin, hits=[row.pin_hits, row.lru_hits], margin=policy.mode_margin)
                row.chosen_at = now
            row.mode = EdgeMode.Mode.PIN if pin else EdgeMode.Mode.LRU
            row.pinned = sorted(set(pinned.get(row.edge.name, [])))
            row.played = sorted(set(played))
            row.updated_at = now
            row.save(update_fields=["mode", "chosen_at", "pinned", "played", "updated_at"])
            out[row.edge.name] = (row.mode, pin != was)
    return out
