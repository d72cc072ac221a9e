"""Keep-hot touches of real edges: which edges are touched, and the HEADs sent to them.

`cdn_edge_lists` (through `cdn.services.edge_modes_replay`) keeps each edge's decayed read
counts and the files to touch (`EdgeMode.touch_keys`, coldest first, `cdn.keep_hot`). Hourly,
every online, healthy edge whose per-edge mode runs "lru" and whose list is fresh is sent one
`HEAD /_touch/<cache key>` per file, in that order, over one kept-alive connection. The edge
answers from its zone and nothing else (`cdn_nginx_config --touch-allow`): a HIT moves the file to
the head of its queue, a 204 for a file it does not hold asks no origin. No video byte moves.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.utils import timezone

from cdn.models import Edge, EdgeMode
from streamsite.taskqueues import time_limits_for

log = logging.getLogger(__name__)

#: a list older than this (`cdn_edge_lists` not running) is not touched: two hourly runs
FRESH = timedelta(hours=2)
TIMEOUT = 5.0


def edges_to_touch(*, now: datetime) -> list[int]:
    """Ids of the edges to touch now: online and healthy, in the LRU mode, with a list that the
    last `cdn_edge_lists` run within `FRESH` wrote."""
    return list(
        EdgeMode.objects.filter(
            mode=EdgeMode.Mode.LRU,
            updated_at__gte=now - FRESH,
            edge__admin_state=Edge.AdminState.ONLINE,
            edge__healthy=True,
        )
        .exclude(touch_keys=[])
        .order_by("edge_id")
        .values_list("edge_id", flat=True)
    )


class EdgeConnection:
    """HEAD requests to one edge over one kept-alive HTTP(S) connection, opened again once when
    the edge closed it between two requests (nginx closes after `keepalive_requests`)."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        factory = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self.connection = factory(parts.hostname, parts.port, timeout=timeout)
        self.root = parts.path if parts.path.endswith("/") else parts.path + "/"

    def head(self, path: str) -> tuple[int, str]:
        """(status, X-Cache-Status) of HEAD <base path><path>."""
        for attempt in (1, 2):
            try:
                self.connection.request(
                    "HEAD", self.root + path, headers={"User-Agent": "streamsite-cdn-touch"}
                )
                response = self.connection.getresponse()
                response.read()
                return response.status, response.getheader("X-Cache-Status", "")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def touch_edge(
    *,
    edge_id: int,
    now: Callable[[], datetime] = timezone.now,
    connect: Callable[[str], EdgeConnection] = EdgeConnection,
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Send the edge its touches, coldest first; record how many were sent, how many hit, how
    many were skipped and why the run stopped early. Returns "done", "failed", or "skipped"
    (not in the LRU mode, or nothing to touch). No transaction is open while the edge is asked.

    A run has `budget` seconds (default: 90% of its task's soft time limit). When the pace so
    far says the rest will not fit, the coldest of the rest are skipped, so the hottest files,
    sent last, are still touched."""
    if budget is None:
        budget = 0.9 * time_limits_for("cdn.tasks.touch_edge")[0]
    row = (
        EdgeMode.objects.select_related("edge")
        .defer("arms", "heat")  # the arms and counts can be megabytes: not needed here
        .filter(edge_id=edge_id)
        .first()
    )
    if row is None or row.mode != EdgeMode.Mode.LRU or not row.touch_keys:
        return "skipped"
    keys = [str(key) for key in row.touch_keys]
    sent = hits = skipped = 0
    error = ""
    try:
        connection = connect(row.edge.base_url)
    except ValueError as exc:
        error = str(exc)
    else:
        started = clock()
        i = 0
        try:
            while i < len(keys):
                status, cache = connection.head("_touch/" + keys[i])
                if status not in (200, 204):
                    error = f"{keys[i]}: HTTP {status}" + (
                        " (is the edge rendered with --touch-allow for this host?)"
                        if status in (403, 404)
                        else ""
                    )
                    break
                sent += 1
                hits += cache == "HIT"
                i += 1
                left = len(keys) - i
                if not left:
                    break
                elapsed = clock() - started
                fits = int((budget - elapsed) * sent / elapsed) if elapsed > 0 else left
                if fits <= 0:
                    error = f"stopped after {elapsed:.0f} s, its budget; {left} not sent"
                    break
                if left > fits:  # at this pace the rest will not fit: skip the coldest
                    skipped += left - fits
                    i += left - fits
        except OSError as exc:  # refused, reset, timed out
            error = f"{exc.__class__.__name__}: {exc}"
        finally:
            connection.close()
    if error:
        log.warning("touches of edge %s stopped after %d: %s", row.edge.name, sent, error)
    EdgeMode.objects.filter(pk=row.pk).update(
        touched_at=now(),
        touches=sent,
        touch_hits=hits,
        touches_skipped=skipped,
        touch_error=error[:255],
    )
    return "failed" if error else "done"
