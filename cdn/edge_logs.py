"""Ingest of the edges' JSON access logs into per-edge, per-minute traffic rows.

Each log is read from a saved offset (EdgeLogCursor) in bounded runs, complete lines only. When
the file was rotated (a new inode at the path) the rest of the old file is read from
`<path>.1` first, when it is still there with the saved inode; a file shorter than the offset
(copytruncate) is read again from the start. Rows and the cursor are written in one
transaction under the cursor's row lock, so two runs never count a line twice; with the
per-edge mode on (CDN_EDGE_MODE_EVERY), the same transaction keeps each edge's lookups of
signed media files (EdgeLookups) for its arms to replay (cdn.services.edge_modes_replay).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from cdn.edge_mode import cache_key_of
from cdn.models import EdgeLogCursor, EdgeLookups, EdgeTrafficMinute
from cdn.services import Lookup, edge_modes_log
from cdn.warming import WARMER_AGENT
from streamsite.retention import delete_oldest

# $upstream_cache_status values that were answered from the cache.
HIT_STATUSES = frozenset({"HIT", "STALE", "UPDATING", "REVALIDATED"})


@dataclass(frozen=True)
class IngestResult:
    path: str
    lines: int
    skipped: int  # lines that were not one of the edge's JSON records
    bytes_read: int


def _upstream_sum(value: object) -> float:
    """$upstream_* hold "-" without an upstream and "a, b" or "a : b" after retries."""
    total = 0.0
    for part in str(value).replace(":", ",").split(","):
        part = part.strip()
        try:
            number = float(part)
        except ValueError:
            continue
        if number == number and number >= 0:  # not NaN
            total += number
    return total


def parse_line(line: bytes) -> tuple[str, datetime, dict[str, int]] | None:
    """(edge, minute, counters) of one access-log line, or None when it is not a record."""
    parsed = _parse(line)
    return None if parsed is None else parsed[:3]


def _parse(line: bytes) -> tuple[str, datetime, dict[str, int], Lookup | None] | None:
    try:
        record = json.loads(line)
        edge = str(record["edge"])[:64]
        msec = float(record["msec"])
        status = int(record["status"])
        sent = int(record["bytes"])
        request_time = float(record["request_time"])
    except (ValueError, KeyError, TypeError):
        return None
    if not edge or not 0 < msec < 2**40 or sent < 0:
        return None
    cache = str(record.get("cache", ""))
    looked_up = cache not in ("", "-")
    hit = cache in HIT_STATUSES
    minute = datetime.fromtimestamp(int(msec) // 60 * 60, tz=UTC)
    lookup = None
    # A viewer's lookup is kept for the per-edge mode's arms and read counts; the warmer's
    # fills are counted in the minute's traffic like any request, but are not viewers' reads
    # (the simulator's arms replay lookups only, not fills).
    if looked_up and record.get("agent") != WARMER_AGENT:
        keyed = cache_key_of(str(record.get("uri", "")))
        if keyed is not None:
            lookup = (keyed[0], keyed[1], msec, sent)
    return (
        edge,
        minute,
        {
            "requests": 1,
            "lookups": int(looked_up),
            "hits": int(hit),
            "errors": int(status >= 500),
            "bytes": sent,
            "lookup_bytes": sent if looked_up else 0,
            "hit_bytes": sent if hit else 0,
            "origin_bytes": int(_upstream_sum(record.get("upstream_bytes", ""))),
            "request_ms": round(request_time * 1000),
            "upstream_ms": round(_upstream_sum(record.get("upstream_time", "")) * 1000),
        },
        lookup,
    )


def _read_lines(path: str, offset: int, budget: int) -> tuple[list[bytes], int, bool]:
    """Complete lines from `offset`, at most `budget` bytes: (lines, new offset, at end)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        chunk = handle.read(budget)
        at_end = len(chunk) < budget or handle.read(1) == b""
    end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next run
    if end == 0 and not at_end and len(chunk) == budget:
        end = len(chunk)  # a single line longer than the budget: skip it rather than stall
    return chunk[:end].splitlines(), offset + end, at_end and end == len(chunk)


def _add(
    minutes: dict[tuple[str, datetime], dict[str, int]],
    lookups: dict[str, list[Lookup]],
    lines: list[bytes],
) -> int:
    skipped = 0
    for line in lines:
        parsed = _parse(line)
        if parsed is None:
            skipped += 1
            continue
        edge, minute, counters, lookup = parsed
        if lookup is not None:
            lookups[edge].append(lookup)
        row = minutes[(edge, minute)]
        for name, value in counters.items():
            row[name] += value
    return skipped


def _save(minutes: dict[tuple[str, datetime], dict[str, int]]) -> None:
    for (edge, minute), counters in sorted(minutes.items()):
        if not EdgeTrafficMinute.objects.filter(edge=edge, minute=minute).exists():
            try:
                with transaction.atomic():
                    EdgeTrafficMinute.objects.create(edge=edge, minute=minute)
            except IntegrityError:
                pass
        EdgeTrafficMinute.objects.filter(edge=edge, minute=minute).update(
            **{name: F(name) + counters[name] for name in EdgeTrafficMinute.COUNTERS}
        )


def ingest_log(*, path: str, max_bytes: int, now: datetime | None = None) -> IngestResult:
    """Read what `path` gained since the last run (at most `max_bytes`) into the minute rows."""
    now = now or timezone.now()
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return IngestResult(path=path, lines=0, skipped=0, bytes_read=0)
    EdgeLogCursor.objects.get_or_create(
        path=path, defaults={"inode": current.st_ino, "offset": 0, "updated_at": now}
    )
    minutes: dict[tuple[str, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lookups: dict[str, list[Lookup]] = defaultdict(list)
    lines = skipped = read = 0
    with transaction.atomic():
        cursor = EdgeLogCursor.objects.select_for_update().get(path=path)
        inode, offset = cursor.inode, cursor.offset
        budget = max_bytes
        if inode != current.st_ino:
            rotated = f"{path}.1"
            try:
                rotated_inode = os.stat(rotated).st_ino
            except FileNotFoundError:
                rotated_inode = None
            at_end = True
            if rotated_inode == inode:
                chunk, new_offset, at_end = _read_lines(rotated, offset, budget)
                lines += len(chunk)
                skipped += _add(minutes, lookups, chunk)
                read += new_offset - offset
                budget -= new_offset - offset
                offset = new_offset
            if at_end:
                inode, offset = current.st_ino, 0
        elif current.st_size < offset:
            offset = 0  # truncated in place
        if inode == current.st_ino and budget > 0:
            chunk, new_offset, _ = _read_lines(path, offset, budget)
            lines += len(chunk)
            skipped += _add(minutes, lookups, chunk)
            read += new_offset - offset
            offset = new_offset
        _save(minutes)
        # The per-edge mode's lookups, kept once: in this transaction, with the cursor.
        edge_modes_log(lookups=lookups, now=now)
        EdgeLogCursor.objects.filter(pk=cursor.pk).update(
            inode=inode, offset=offset, updated_at=now
        )
    return IngestResult(path=path, lines=lines, skipped=skipped, bytes_read=read)


def ingest_logs(*, paths: list[str], max_bytes: int) -> list[IngestResult]:
    return [ingest_log(path=path, max_bytes=max_bytes) for path in paths]


# Minute rows are kept this long; the dashboard's daily sums (insights) outlive them.
TRAFFIC_RETENTION = timedelta(days=35)
# Lookups kept for the per-edge mode's arms and not replayed this long (cdn_edge_lists has not
# run) are dropped: the arms go on without them.
LOOKUPS_RETENTION = timedelta(days=2)


def traffic_prune(*, before: datetime, batch: int = 5000) -> int:
    """Delete one batch of minute rows older than `before`, and of kept lookups older than
    LOOKUPS_RETENTION before `now`; returns how many rows went."""
    minutes = delete_oldest(
        EdgeTrafficMinute.objects.filter(minute__lt=before), order_by="minute", batch=batch
    )
    stale = timezone.now() - LOOKUPS_RETENTION
    kept = delete_oldest(
        EdgeLookups.objects.filter(created_at__lt=stale), order_by="pk", batch=batch
    )
    return max(minutes, kept)
