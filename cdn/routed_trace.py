"""A trace after the real steering code: each edge's chunk lookups, as the replays read them.

`route` sends every session of a trace (`cdn.traces.Request`) through `cdn.steering.Steerer`
and cuts it into fixed-size chunk lookups on the edge it was sent to. An object id is the
content key's index shifted left by `CHUNK_BITS`, or'd with the chunk number.
"""

from __future__ import annotations

import gc
import ipaddress
import socket
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from cdn.snapshot import EdgeInfo, SiteInfo, Snapshot, stable_hash
from cdn.steering import COVERAGE_ZONE, Steerer
from cdn.stream_replays import stream_indexes
from cdn.traces import Request, TraceError


def synthetic_snapshot(*, regions: int, edges_per_site: int, capacity: int = 10**9) -> Snapshot:
    """Sites r0..rN (10.<i>.0.0/16 each) spread over the globe, with `edges_per_site` edges of
    `capacity` sessions each (the default never triggers the bounded-load rule)."""
    sites = []
    edge_id = 1
    for i in range(regions):
        site = SiteInfo(
            id=i + 1,
            name=f"r{i}",
            country="US",
            latitude=-60 + (120 * i / max(1, regions - 1)),
            longitude=-170 + (340 * ((i * 7) % max(1, regions)) / max(1, regions)),
        )
        for j in range(edges_per_site):
            site.edges.append(
                EdgeInfo(
                    id=edge_id,
                    name=f"r{i}-e{j}",
                    site_id=site.id,
                    base_url=f"http://r{i}-e{j}.edge/",
                    capacity=capacity,
                )
            )
            edge_id += 1
        sites.append(site)
    zones = [(f"10.{i}.0.0/16", i + 1) for i in range(regions)]
    return Snapshot(sites=sites, zones=zones, global_default=1)


CHUNK_BITS = 20  # an object id is key index << CHUNK_BITS | chunk number


@dataclass
class EdgeStream:
    """One edge's chunk lookups in trace order: objects and times as lists (the replay's hot
    loops index them), sizes as an array."""

    objs: list[int] = field(default_factory=list)
    ts: list[float] = field(default_factory=list)
    sizes: Any = None

    _working: int = -1
    _indexes: Any = None

    def _stream_indexes(self) -> tuple[list[int], list[int], list[int], int]:
        if self._indexes is None or len(self._indexes[0]) != len(self.objs):
            self._indexes = stream_indexes(self.objs)
        return self._indexes

    def next_uses(self) -> list[int]:
        """`cdn.stream_replays.next_uses` of the lookups, once for every size Belady runs at."""
        return self._stream_indexes()[0]

    def previous_uses(self) -> list[int]:
        """`cdn.stream_replays.previous_uses`, once for every size LRU runs at."""
        return self._stream_indexes()[1]

    def dense_ids(self) -> tuple[list[int], int]:
        """`cdn.stream_replays.dense_ids`, once for every size S3-FIFO runs at."""
        _, _, dense, distinct = self._stream_indexes()
        return dense, distinct

    def working(self) -> int:
        """Distinct chunks looked up here (the working set)."""
        if self._working < 0:
            self._working = self._stream_indexes()[3] if self.objs else 0
        return self._working

    @property
    def nbytes(self) -> list[int]:
        return [int(b) for b in self.sizes]

    def bytes_total(self) -> int:
        return int(self.sizes.sum())

    def bytes_hit(self, hits: bytearray) -> int:
        return int(self.sizes[np.frombuffer(hits, dtype=np.uint8).view(bool)].sum())


@dataclass
class Routed:
    """The trace after steering: per edge, the chunk lookups."""

    edges: dict[str, EdgeStream] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    site_of_edge: dict[str, str] = field(default_factory=dict)
    located: dict[str, int] = field(default_factory=dict)
    # Every session as the demand signal sees it (a recorded decision): (ts, site, key, bytes),
    # oldest first. Warming reads only the ones before its fill time.
    plays: list[tuple[float, str, str, int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # key index → content key
    key_index: dict[str, int] = field(default_factory=dict)

    def obj(self, chunk: tuple[str, int]) -> int:
        """The object id of a (content key, chunk number), allocating ids for unseen keys."""
        key, c = chunk
        k = self.key_index.get(key)
        if k is None:
            k = self.key_index[key] = len(self.keys)
            self.keys.append(key)
        return k << CHUNK_BITS | c

    def chunk(self, obj: int) -> tuple[str, int]:
        return self.keys[obj >> CHUNK_BITS], obj & ((1 << CHUNK_BITS) - 1)

    @property
    def streams(self) -> dict[str, list[tuple[tuple[str, int], int, float]]]:
        """Per edge, `((content key, chunk), bytes, timestamp)` per lookup (for reports)."""
        return {
            edge: [(self.chunk(o), b, t) for o, b, t in zip(es.objs, es.nbytes, es.ts, strict=True)]
            for edge, es in self.edges.items()
        }


def route(
    requests: list[Request],
    steerer: Steerer,
    *,
    chunk_bytes: int,
    reset_load_every: float = 3600.0,
    path: str = "",
) -> Routed:
    """Run every session through the real steering code (first URL wins).

    A session longer than chunk numbers can name stops the replay with a TraceError naming its
    line (in `path`, when given) and the most bytes a session may read."""
    with _no_cyclic_gc():
        return _route(requests, steerer, chunk_bytes, reset_load_every, path)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused: routing builds a few hundred thousand tuples that hold no
    cycles, and its passes over them were a third of the routing time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _route(
    requests: list[Request],
    steerer: Steerer,
    chunk_bytes: int,
    reset_load_every: float,
    path: str,
) -> Routed:
    snap = steerer.snapshot
    routed = Routed()
    for edge in snap.edges.values():
        routed.site_of_edge[edge.name] = snap.sites[edge.site_id].name
    if not requests:
        return routed
    # Steering's handed-out counts restart every `reset_load_every` seconds of trace time, as
    # they would with each new load reading; wall time plays no part in a replay.
    trace_now = [requests[0].ts]
    steerer.use_clock(lambda: trace_now[0], assigned_window=reset_load_every)
    limit = 1 << CHUNK_BITS
    too_big = (limit - 1) * chunk_bytes  # more bytes than chunk numbers can name
    ts_list = list(map(attrgetter("ts"), requests))
    nbytes_list = list(map(attrgetter("nbytes"), requests))
    nbytes = np.array(nbytes_list, dtype=np.int64)
    over = np.flatnonzero(nbytes > too_big)
    if len(over):
        # Everything before it is located as usual (a bad address earlier stops there first).
        req = requests[int(over[0])]
        _locate_all(requests[: int(over[0]) + 1], steerer)
        raise TraceError(
            f"{f'{path}:{req.line}' if path else f'line {req.line}'}: bytes {req.nbytes} "
            f"is more than {limit - 1} chunks of {chunk_bytes} (expected at most "
            f"{too_big} bytes per session, or a larger --chunk-mb)"
        )
    located = _locate_all(requests, steerer)
    n = len(requests)
    key_index = routed.key_index
    key_index.update((k, i) for i, k in enumerate(dict.fromkeys(map(attrgetter("key"), requests))))
    routed.keys[:] = key_index
    key_of = list(map(key_index.__getitem__, map(attrgetter("key"), requests)))
    hashes = [stable_hash(key) for key in routed.keys]
    # Edges by position; the last one stands for the origin (no edge chosen).
    names = [e.name for e in snap.edges.values()] + ["origin"]
    position = {e.id: i for i, e in enumerate(snap.edges.values())}
    origin = len(names) - 1
    site_ids = sorted({site for site, _ in located.values()}, key=lambda s: -1 if s is None else s)
    code = {site: i for i, site in enumerate(site_ids)}
    site_code = {client: code[site] for client, (site, _) in located.items()}
    req_site = np.fromiter(
        map(site_code.__getitem__, map(attrgetter("client"), requests)), dtype=np.int64, count=n
    )
    kidx = np.array(key_of, dtype=np.int64)
    choose = steerer.choose

    def first_choice(i: int, site: int | None, k: int) -> int:
        trace_now[0] = ts_list[i]
        chosen = choose(site, routed.keys[k], key_hash=hashes[k])
        return position[chosen[0].id] if chosen else origin

    if steerer.load_never_matters(n):
        # No edge can get busy in this trace: a first choice depends on the site and the key
        # alone, so steering is asked once per pair, at the pair's first session.
        pairs = req_site * len(routed.keys) + kidx
        _, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
        choice = np.zeros(len(first), dtype=np.int64)
        for p in np.argsort(first).tolist():  # in trace order
            i = int(first[p])
            choice[p] = first_choice(i, site_ids[int(req_site[i])], key_of[i])
        edge_arr = choice[inverse.reshape(-1)]
    else:
        edge_arr = np.array(
            [
                first_choice(i, site_ids[site], k)
                for i, (site, k) in enumerate(zip(req_site.tolist(), key_of, strict=True))
            ],
            dtype=np.int64,
        )
    how_code = {how: i for i, how in enumerate(dict.fromkeys(h for _, h in located.values()))}
    hows = np.fromiter(
        (how_code[located[c][1]] for c in map(attrgetter("client"), requests)),
        dtype=np.int64,
        count=n,
    )
    _, first_how, how_counts = np.unique(hows, return_index=True, return_counts=True)
    how_names = list(how_code)
    routed.located = {
        how_names[int(hows[first_how[j]])]: int(how_counts[j])
        for j in np.argsort(first_how).tolist()
    }
    ts = np.array(ts_list, dtype=np.float64)
    # Edges in the order they first appear in the trace.
    used, first_at, counts = np.unique(edge_arr, return_index=True, return_counts=True)
    by_edge = np.argsort(edge_arr, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(counts)))
    for j in np.argsort(first_at, kind="stable").tolist():
        sel = by_edge[bounds[j] : bounds[j + 1]]
        name = names[int(used[j])]
        routed.sessions[name] = int(counts[j])
        routed.edges[name] = _chunk_lookups(kidx[sel], nbytes[sel], ts[sel], chunk_bytes)
    site_of = [routed.site_of_edge.get(name, "origin") for name in names]
    routed.plays = list(
        zip(
            ts_list,
            map(site_of.__getitem__, edge_arr.tolist()),
            map(attrgetter("key"), requests),
            nbytes_list,
            strict=True,
        )
    )
    if (np.diff(ts) < 0).any():
        routed.plays.sort(key=itemgetter(0))  # oldest first, ties in trace order
    return routed


def _locate_all(requests: list[Request], steerer: Steerer) -> dict[str, tuple[int | None, str]]:
    """Where each distinct client is (site id, how it was found), in order of first
    appearance. A site's name is that site; otherwise steering's own `locate` (a coverage
    zone, its first rule, tried first on the integer address)."""
    snap = steerer.snapshot
    by_name = {s.name: s.id for s in snap.sites.values()}
    coverage = snap.coverage.lookup_value
    located: dict[str, tuple[int | None, str]] = {}
    for client in dict.fromkeys(map(attrgetter("client"), requests)):
        site_id = by_name.get(client)
        if site_id is not None:
            located[client] = (site_id, "region")
            continue
        try:
            site_id = coverage(4, int.from_bytes(socket.inet_pton(socket.AF_INET, client), "big"))
        except OSError:
            pass
        if site_id is not None:
            located[client] = (site_id, COVERAGE_ZONE)
            continue
        site_id, how, _ = steerer.locate(_ip(client), None, explain=False)
        located[client] = (site_id, how)
    return located


def _chunk_lookups(keys: Any, nbytes: Any, ts: Any, chunk_bytes: int) -> EdgeStream:
    """An edge's sessions (arrays of key index, bytes, ts) cut into chunk lookups: a session
    reads chunks 0..ceil(bytes / chunk) - 1 of its key, the last one partly."""
    chunks = np.maximum(1, -(-nbytes // chunk_bytes))
    ends = np.cumsum(chunks)
    # Chunk number of every lookup: its position minus where its session starts.
    number = np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - chunks, chunks)
    size = np.full(len(number), chunk_bytes, dtype=np.int64)
    size[ends - 1] = nbytes - chunk_bytes * (chunks - 1)
    return EdgeStream(
        objs=((np.repeat(keys, chunks) << CHUNK_BITS) | number).tolist(),
        ts=np.repeat(ts, chunks).tolist(),
        sizes=size,
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """`ipaddress.ip_address`, with the C parser doing the common IPv4 case."""
    try:
        return ipaddress.IPv4Address(int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"))
    except OSError:
        return ipaddress.ip_address(text)


def load_balance(routed: Routed) -> dict[str, float]:
    """max/mean sessions per edge inside each site; the worst site and the average."""
    per_site: dict[str, list[int]] = defaultdict(list)
    for edge, site in routed.site_of_edge.items():
        per_site[site].append(routed.sessions.get(edge, 0))
    ratios = {}
    for site, counts in per_site.items():
        mean = sum(counts) / len(counts)
        ratios[site] = max(counts) / mean if mean else 1.0
    worst = max(ratios.values()) if ratios else 1.0
    avg = sum(ratios.values()) / len(ratios) if ratios else 1.0
    return {"worst_site": worst, "mean_site": avg}
