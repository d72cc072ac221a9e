"""A real nginx edge writes its JSON access log; the ingest sums it per edge and minute, resumes
at its saved offset, follows a rotation and never counts a line twice."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from cdn.edge_logs import ingest_log, parse_line
from cdn.models import EdgeLogCursor, EdgeTrafficMinute
from cdn.signing import signed_url
from tests.cdn.conftest import wait_until, write_asset

PREFIX = "hls/5b7d2c10/v1/"
SIZE = 4096
FIELDS = (
    "requests",
    "lookups",
    "hits",
    "errors",
    "bytes",
    "lookup_bytes",
    "hit_bytes",
    "origin_bytes",
)


def fetch(url: str) -> tuple[int, int, str]:
    """(status, body length, X-Cache-Status) of one GET."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310
            return response.status, len(response.read()), response.headers.get("X-Cache-Status")
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read()), exc.headers.get("X-Cache-Status")


def totals(edge: str) -> tuple[int, ...]:
    sums = EdgeTrafficMinute.objects.filter(edge=edge).aggregate(*[Sum(f) for f in FIELDS])
    return tuple(sums[f"{f}__sum"] or 0 for f in FIELDS)


def lines_in(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


@pytest.mark.slow
@pytest.mark.django_db
def test_a_real_edge_log_is_summed_per_minute_resumed_and_followed_through_rotation(
    nginx_edges, origin
):
    files = write_asset(origin.root, PREFIX, segments=3, size=SIZE)
    edge = nginx_edges("edge-log-1")
    log = edge.prefix / "access.log"
    expires = timezone.now() + timedelta(hours=1)
    seg0, seg1, seg2 = (signed_url(edge.base_url, PREFIX, f, expires_at=expires) for f in files[2:])

    assert fetch(seg0)[::2] == (200, "MISS")
    assert fetch(seg0)[::2] == (200, "HIT")
    assert fetch(seg1)[::2] == (200, "MISS")
    refused, refused_bytes, _ = fetch(seg1.replace("/t/", "/t/0") + "x")  # no such route: 404
    assert refused == 404
    wait_until(lambda: lines_in(log) == 4)

    first = ingest_log(path=str(log), max_bytes=1 << 20)
    assert (first.lines, first.skipped) == (4, 0)
    # 4 requests; 3 asked the cache, 1 hit; egress 3 segments + the 404 page; 2 from the origin.
    assert totals("edge-log-1") == (4, 3, 1, 0, 3 * SIZE + refused_bytes, 3 * SIZE, SIZE, 2 * SIZE)
    # Nothing new: a second run reads nothing and counts nothing twice.
    assert ingest_log(path=str(log), max_bytes=1 << 20).lines == 0
    assert totals("edge-log-1")[0] == 4

    # Rotation as logrotate does it: rename, then USR1 makes nginx reopen the path.
    old_inode = log.stat().st_ino
    os.rename(log, edge.prefix / "access.log.1")
    assert fetch(seg2)[::2] == (200, "MISS")  # still written to the renamed file
    os.kill(edge.process.pid, signal.SIGUSR1)
    wait_until(lambda: log.exists())
    assert fetch(seg2)[::2] == (200, "HIT")
    wait_until(lambda: lines_in(log) + lines_in(edge.prefix / "access.log.1") == 6)

    second = ingest_log(path=str(log), max_bytes=1 << 20)
    assert second.lines == 2
    assert totals("edge-log-1") == (
        6,
        5,
        2,
        0,
        5 * SIZE + refused_bytes,
        5 * SIZE,
        2 * SIZE,
        3 * SIZE,
    )
    cursor = EdgeLogCursor.objects.get(path=str(log))
    assert cursor.inode == log.stat().st_ino != old_inode
    assert cursor.offset == log.stat().st_size


def _record(msec: float, cache: str, sent: int, upstream: str = "-") -> bytes:
    return json.dumps(
        {
            "msec": msec,
            "edge": "e9",
            "status": 200,
            "cache": cache,
            "bytes": sent,
            "request_time": 0.004,
            "upstream_time": "0.002",
            "upstream_bytes": upstream,
        }
    ).encode()


@pytest.mark.django_db
def test_bounded_runs_read_complete_lines_only_and_skip_garbage(tmp_path):
    log = tmp_path / "access.log"
    lines = [
        _record(1_780_000_000.5, "MISS", 1000, "1000"),
        b"not json at all",
        _record(1_780_000_010.0, "HIT", 1000),
        _record(1_780_000_075.0, "EXPIRED", 500, "400, 500"),
    ]
    log.write_bytes(b"\n".join(lines) + b'\n{"msec": 1780000080')  # the last line is unfinished
    budget = len(lines[0]) + len(lines[1]) + 2
    first = ingest_log(path=str(log), max_bytes=budget)
    assert (first.lines, first.skipped) == (2, 1)
    rest = ingest_log(path=str(log), max_bytes=1 << 20)
    assert (rest.lines, rest.skipped) == (2, 0)
    rows = list(
        EdgeTrafficMinute.objects.order_by("minute").values_list(
            "minute", "requests", "hits", "bytes", "origin_bytes", "request_ms", "upstream_ms"
        )
    )
    minute = datetime.fromtimestamp(1_779_999_960, tz=UTC)
    assert rows == [
        (minute, 2, 1, 2000, 1000, 8, 4),
        (minute + timedelta(minutes=1), 1, 0, 500, 900, 4, 2),
    ]
    # The unfinished line is read once it ends.
    with log.open("ab") as handle:
        handle.write(
            b', "edge": "e9", "status": 502, "cache": "", "bytes": 10, '
            b'"request_time": 1.0, "upstream_time": "-", "upstream_bytes": "-"}\n'
        )
    call_command("cdn_ingest_edge_logs", str(log), stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert EdgeTrafficMinute.objects.get(minute=minute + timedelta(minutes=2)).errors == 1


def test_a_line_that_is_not_a_record_is_refused():
    assert (
        parse_line(b'{"msec": "nan", "edge": "e", "status": 200, "bytes": 1, "request_time": 0}')
        is None
    )
    assert (
        parse_line(b'{"msec": 1, "edge": "", "status": 200, "bytes": 1, "request_time": 0}') is None
    )
    assert parse_line(b"[]") is None


@pytest.mark.django_db
def test_old_minute_rows_are_pruned_in_batches():
    from cdn.edge_logs import traffic_prune

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minutes in (0, 1, 2, 60):
        EdgeTrafficMinute.objects.create(edge="e1", minute=start + timedelta(minutes=minutes))
    assert traffic_prune(before=start + timedelta(minutes=3), batch=2) == 2
    assert traffic_prune(before=start + timedelta(minutes=3), batch=2) == 1
    assert traffic_prune(before=start + timedelta(minutes=3), batch=2) == 0
    assert EdgeTrafficMinute.objects.get().minute == start + timedelta(hours=1)
