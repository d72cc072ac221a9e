"""Trace-driven CDN simulator: real steering, per-edge cache models (LRU, S3-FIFO, Belady).

A trace is CSV `timestamp,client,content_key,bytes`: one playback session that read `bytes` of
the content key from its start (viewers who abandon read less). `client` is an IP address
(located by the real steering code) or a region/site name. Every content key is cut into
fixed-size chunks; a session touches its first ceil(bytes / chunk) chunks, each one cache lookup.

A catalogue CSV `content_key,bytes,available_from` may come with it: what the catalogue knows
ahead of time (a title's size, when a new release becomes available). Warming may use it and the
plays that happened before each fill; it never looks at later requests.
"""

from __future__ import annotations

import bisect
import gc
import ipaddress
import math
import socket
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from cdn.admission import DecayingSketch, EdgePolicy, decide
from cdn.caches import (
    LRU,
    S3FIFO,
    Belady,
    NginxCache,
    lru_hits,
    next_uses,
    s3fifo_hits,
    stream_indexes,
)
from cdn.demand_model import LearnedRanking, build_ranking
from cdn.edge_mode import Arms, choose, may_choose
from cdn.snapshot import EdgeInfo, SiteInfo, Snapshot, stable_hash
from cdn.steering import COVERAGE_ZONE, Steerer
from cdn.traces import (
    DAY,
    DEFAULT_START,
    Catalog,
    CatalogEntry,
    Request,
    TraceError,
    generate_trace,
    generate_workload,
    read_catalog,
    read_trace,
    write_catalog,
    write_trace,
)
from cdn.warming import LOOKBACK_S, assign_edges, decayed_demand, with_releases

__all__ = [
    "DAY",
    "DEFAULT_START",
    "LRU",
    "S3FIFO",
    "Belady",
    "Catalog",
    "CatalogEntry",
    "NginxCache",
    "Request",
    "TraceError",
    "generate_trace",
    "generate_workload",
    "read_catalog",
    "read_trace",
    "write_catalog",
    "write_trace",
]


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


# --- Simulation -------------------------------------------------------------------------------


@dataclass
class Result:
    policy: str
    warming: bool
    requests: int = 0
    hits: int = 0
    bytes_total: int = 0
    bytes_hit: int = 0
    # With warming, where the fills went (see `simulate`): counts of chunks.
    warm: dict[str, int] = field(default_factory=dict)

    @property
    def object_hit_ratio(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        return self.bytes_hit / self.bytes_total if self.bytes_total else 0.0


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
        """`cdn.caches.next_uses` of the lookups, computed once for every size Belady runs at."""
        return self._stream_indexes()[0]

    def previous_uses(self) -> list[int]:
        """`cdn.caches.previous_uses`, once for every size LRU runs at."""
        return self._stream_indexes()[1]

    def dense_ids(self) -> tuple[list[int], int]:
        """`cdn.caches.dense_ids`, once for every size S3-FIFO runs at."""
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


def _next_uses(stream: list[tuple[Any, int, float]]) -> list[int]:
    ids: dict[Any, int] = {}
    return next_uses([ids.setdefault(obj, len(ids)) for obj, _, _ in stream])


class Warmer:
    """The off-peak fill, as `cdn.warming` plans it for real edges, replayed in the simulator.

    Once a day at `fill_hour` (UTC, the synthetic sites' local time; 07:00 by default: inside an
    Open Connect-style 02:00-14:00 fill window, one hour before the generator's 08:00 launches)
    each site's demand is predicted from the plays recorded *before that moment*
    (`decayed_demand`, 24 h half-life) plus the catalogue's releases launching before the next
    fill (`with_releases`: the average first-day plays of earlier launches in the region). By
    default only those launches are planned: re-filling catalogue titles from past plays was
    measured to pollute (their chunks are in the cache already, or were evicted because few
    read them; see docs/benchmarks.md); `refill=True` plans the site's top keys as before. Keys
    go to the edges steering would pick for them (`assign_edges`, the same rendezvous hash). A
    key is cut into chunks like the trace; chunk c of a key is worth the key's score times the
    share of past sessions at the site that read at least c + 1 chunks (viewers abandon, so
    first chunks come first); chunks worth fewer than `min_plays` are not fetched. Sizes come
    from the catalogue, else from the largest read seen so far.
    """

    def __init__(
        self,
        routed: Routed,
        steerer: Steerer,
        *,
        chunk_bytes: int,
        catalog: Catalog | None = None,
        fill_hour: float = 7.0,
        keys_per_site: int = 200,
        min_plays: float = 2.0,
        refill: bool = False,
        topup_hour: float | None = None,
    ) -> None:
        self.routed = routed
        self.refill = refill
        if topup_hour is not None and not fill_hour < topup_hour < 24:
            raise ValueError("the top-up comes after the fill, the same day")
        self.topup_hour = topup_hour
        self.min_plays = min_plays
        self.chunk_bytes = chunk_bytes
        self.catalog = catalog or {}
        self.fill_hour = fill_hour
        self.keys_per_site = keys_per_site
        snap = steerer.snapshot
        self.edges_by_site: dict[str, list[EdgeInfo]] = defaultdict(list)
        for edge in snap.edges.values():
            if edge.admin_state == "online":
                self.edges_by_site[snap.sites[edge.site_id].name].append(edge)
        self.releases = {
            k: e.available_from for k, e in self.catalog.items() if e.available_from is not None
        }
        self._times = [p[0] for p in routed.plays]
        self._plans: dict[tuple[str, float], dict[str, list[tuple[str, int]]]] = {}

    def fill_times(self, first: float, last: float) -> list[float]:
        """Every fill (and top-up) between the day before `first` and `last`."""
        day = math.floor(first / DAY) * DAY
        out = []
        while day + self.fill_hour * 3600 <= last:
            at = day + self.fill_hour * 3600
            if at + DAY > first:
                out.append(at)
                if self.topup_hour is not None and day + self.topup_hour * 3600 <= last:
                    out.append(day + self.topup_hour * 3600)
            day += DAY
        return out

    def main_fill(self, at: float) -> float | None:
        """For a top-up at `at`, the time of that day's main fill; None for a main fill."""
        if self.topup_hour is None or (at % DAY) / 3600 != self.topup_hour:
            return None
        return at - (self.topup_hour - self.fill_hour) * 3600

    def plan(self, site: str, at: float) -> dict[str, list[tuple[str, int]]]:
        """Per edge of the site, the chunks it should hold after the fill at `at`, best first."""
        cached = self._plans.get((site, at))
        if cached is not None:
            return cached
        if not self.refill and not any(self.launching(k, at) for k in self.releases):
            self._plans[(site, at)] = {}
            return {}
        # Strictly before `at`, within the demand's lookback.
        past = self.routed.plays[
            bisect.bisect_left(self._times, at - LOOKBACK_S) : bisect.bisect_left(self._times, at)
        ]
        rows = [(s, k, ts) for ts, s, k, _ in past]
        demand: dict[str, dict[str, float]] = {name: {} for name in self.edges_by_site}
        demand.update(decayed_demand(rows, now=at))
        if self.releases:
            demand = with_releases(demand, self.releases, now=at, plays=rows)
        largest: dict[str, int] = {}
        reads: dict[int, int] = defaultdict(int)
        sessions = 0
        for _, s, k, nbytes in past:
            largest[k] = max(largest.get(k, 0), nbytes)
            if s == site:
                sessions += 1
                reads[max(1, math.ceil(nbytes / self.chunk_bytes))] += 1
        # reach[c]: share of past sessions at the site that read chunk c.
        reach: list[float] = []
        remaining = sessions
        for c in range(max(reads, default=0)):
            reach.append(remaining / sessions)
            remaining -= reads.get(c + 1, 0)
        plan: dict[str, list[tuple[float, str, int]]] = defaultdict(list)
        scores = demand.get(site, {})
        if not self.refill:
            scores = {k: v for k, v in scores.items() if self.launching(k, at)}
        edges = self.edges_by_site[site]
        for key, score, edge in assign_edges(scores, edges, keys=self.keys_per_site):
            entry = self.catalog.get(key)
            size = entry.nbytes if entry is not None else largest.get(key, 0)
            for c in range(math.ceil(size / self.chunk_bytes)):
                share = reach[c] if c < len(reach) else (0.0 if reach else 1.0)
                if score * share >= self.min_plays:
                    plan[edge.name].append((score * share, key, c))
        out = {
            edge: [(k, c) for _, k, c in sorted(items, key=lambda t: (-t[0], t[1], t[2]))]
            for edge, items in plan.items()
        }
        self._plans[(site, at)] = out
        return out

    def launching(self, key: str, at: float) -> bool:
        """A scheduled release going live within a day of the fill at `at`."""
        start = self.releases.get(key)
        return start is not None and at <= start < at + DAY

    def why_missed(self, site: str, at: float, edge: str, chunk: tuple[str, int]) -> str:
        """Why the fill at `at` did not put this chunk on this edge (diagnostics)."""
        plan = self.plan(site, at)
        if chunk in plan.get(edge, []):
            return "miss_beyond_budget"
        if any(chunk in chunks for name, chunks in plan.items() if name != edge):
            return "miss_other_edge"
        if any(chunk[0] == key for chunks in plan.values() for key, _ in chunks):
            return "miss_chunk_not_planned"
        return "miss_key_not_planned"


def simulate(
    routed: Routed,
    steerer: Steerer,
    *,
    fraction: float,
    policies: tuple[str, ...] = ("lru", "s3fifo", "belady"),
    warming: tuple[bool, ...] = (False, True),
    warm_share: float = 0.75,
    warmer: Warmer | None = None,
    chunk_bytes: int = 50_000_000,
    catalog: Catalog | None = None,
    pin_share: float = 0.0,
    pin_hours: float = 24.0,
    diagnostics: bool = False,
    progress: Callable[[int], Any] | None = None,
    edge_policy: EdgePolicy | None = None,
) -> list[Result]:
    """Per-edge caches of `fraction` of each edge's working set; aggregate ratios per policy.

    Policies: `lru`, `s3fifo` and `belady` (references), `nginx` (proxy_cache as the edge
    configuration runs it with no admission) and `edge` (what the edges run under the
    project's decisions: `edge_policy` says which keys each edge stores and pins).

    With warming, each fill fetches onto every edge the chunks of the warmer's plan it does not
    hold, best first, at most `warm_share` of its cache. LRU takes them at the most recent end,
    coldest first (what a fetch through an nginx edge does). S3-FIFO takes a scheduled launch's
    chunks at the tail of its main queue with no frequency credit (one pass of main to be read,
    then gone unless read: a launch is a known demand, not a guess) and any other warmed chunk
    at the head of main (the next to go unless read), so a wrong prediction never outlives an
    object that proved itself. With `pin_share` > 0 a launch's chunks are instead held outside
    the policy (the policy's capacity shrinks by as much) until read or `pin_hours` after the
    launch, at most `pin_share` of the cache.

    Every warm replay counts the chunks its fills fetched from the origin in
    `Result.warm["fetched"]`. With `diagnostics` (always with `pin_share`), every lookup also
    goes through the bookkeeping that fills the rest of `Result.warm`: `read_cached` (read
    while still held), `read_after_eviction`, `unread_kept` / `unread_evicted` at the next fill;
    `release_first_reads` (a release chunk's first read on the edge: what a fill can win),
    `release_first_hits`, and for the misses the reason (`miss_warmed_evicted`,
    `miss_beyond_budget`, `miss_other_edge`, `miss_chunk_not_planned`, `miss_key_not_planned`).
    Without it the replay runs each policy's loop over the lookups between two fills.
    """
    if warmer is None and True in warming:
        warmer = Warmer(routed, steerer, chunk_bytes=chunk_bytes, catalog=catalog)
    slow = diagnostics or pin_share > 0
    results = []
    # A warm replay whose edge gets no fill is the cold replay: it is run once.
    cold: dict[tuple[str, str], bytearray] = {}
    for policy in policies:
        for warm in warming:
            if policy == "belady" and warm:
                continue
            res = Result(policy=policy, warming=warm)
            for edge_name, es in routed.edges.items():
                n = len(es.objs)
                capacity = max(1, int(es.working() * fraction))
                cache = _make_cache(policy, capacity, es, edge_policy)
                site = routed.site_of_edge.get(edge_name)
                fills: list[float] = []
                if warm and warmer is not None and site is not None and n:
                    fills = [
                        at
                        for at in warmer.fill_times(es.ts[0], es.ts[-1])
                        if warmer.plan(site, warmer.main_fill(at) or at).get(edge_name)
                    ]
                replay = _EdgeReplay(
                    cache,
                    routed=routed,
                    policy=policy,
                    capacity=capacity,
                    budget=int(capacity * warm_share),
                    stats=res.warm,
                    pin_share=pin_share,
                    pin_hours=pin_hours,
                )
                hits = bytearray(n)
                if policy == "edge":
                    _replay_edge_policy(
                        routed,
                        es,
                        hits,
                        capacity=capacity,
                        policy=edge_policy or EdgePolicy(),
                        warmer=warmer if warm else None,
                        site=site,
                        edge=edge_name,
                        stats=res.warm,
                    )
                elif slow:
                    replay.replay_slowly(es, hits, warmer if warm else None, site, edge_name)
                elif not fills and (policy, edge_name) in cold:
                    hits = cold[(policy, edge_name)]
                elif not fills and policy == "lru":
                    lru_hits(es.previous_uses(), capacity, hits)
                    cold[(policy, edge_name)] = hits
                elif not fills and policy == "s3fifo":
                    s3fifo_hits(*es.dense_ids(), capacity, hits)
                    cold[(policy, edge_name)] = hits
                else:
                    replay.replay(es, hits, warmer, site, edge_name, fills)
                    if not fills:
                        cold[(policy, edge_name)] = hits
                res.requests += n
                res.hits += hits.count(1)
                res.bytes_total += es.bytes_total()
                res.bytes_hit += es.bytes_hit(hits)
                if progress is not None:
                    progress(n)
            results.append(res)
    return results


def _make_cache(policy: str, capacity: int, es: EdgeStream, edge_policy: EdgePolicy | None) -> Any:
    if policy == "lru":
        return LRU(capacity)
    if policy == "s3fifo":
        return S3FIFO(capacity)
    if policy == "belady":
        return Belady(capacity, es.next_uses())
    if policy == "nginx":
        return NginxCache(capacity)
    if policy == "edge":
        return None  # two zones, made by `_replay_edge_policy`
    raise ValueError(f"unknown policy {policy!r}")


def _global_sessions(routed: Routed) -> tuple[Any, Any]:
    """Every session's time and title index, oldest first (the pooled request log)."""
    cached = getattr(routed, "_global", None)
    if cached is None:
        ts = np.array([p[0] for p in routed.plays], dtype=np.float64)
        keys = np.array([routed.key_index[p[2]] for p in routed.plays], dtype=np.int64)
        cached = (ts, keys)
        routed._global = cached  # type: ignore[attr-defined]
    return cached


def _learned_ranking(routed: Routed, policy: EdgePolicy) -> LearnedRanking:
    """The learned pin-list ranking, built once per trace and policy (it depends on neither
    the cache size nor warming): trained on samples taken at the start of every interval an
    edge serves sessions in and at each day's fill hour (07:00, `Warmer`'s default)."""
    cache: dict[tuple[float, float, float], LearnedRanking] = routed.__dict__.setdefault(
        "_learned", {}
    )
    key = (policy.interval, policy.learned_every, policy.learned_horizon)
    if key not in cache:
        mask = (1 << CHUNK_BITS) - 1
        sessions, updates = {}, {}
        for name, es in routed.edges.items():
            firsts = [i for i, o in enumerate(es.objs) if o & mask == 0]
            ts = np.array([es.ts[i] for i in firsts], dtype=np.float64)
            keys = np.array([es.objs[i] >> CHUNK_BITS for i in firsts], dtype=np.int64)
            sessions[name] = (ts, keys)
            active = np.floor(np.asarray(es.ts) / policy.interval) * policy.interval
            days = np.arange(math.floor(es.ts[0] / DAY) * DAY + 7 * 3600, es.ts[-1], DAY)
            daily = np.floor(days / policy.interval) * policy.interval
            updates[name] = np.unique(np.concatenate([active, daily])).tolist()
        cache[key] = build_ranking(
            sessions=sessions,
            updates=updates,
            titles=len(routed.keys),
            every=policy.learned_every,
            horizon=policy.learned_horizon,
        )
    return cache[key]


def _replay_edge_policy(
    routed: Routed,
    es: EdgeStream,
    hits: bytearray,
    *,
    capacity: int,
    policy: EdgePolicy,
    warmer: Warmer | None,
    site: str | None,
    edge: str,
    stats: dict[str, int] | None = None,
) -> None:
    """What a stock nginx edge does under the project's lists (`cdn.admission`): a pin zone and
    an LRU zone, both `NginxCache`; every `policy.interval` the lists are decided again from
    the sessions before that moment; with a warmer, each fill pre-fetches the pinned titles
    (and the warmer's launches) through the edge. `stats["fetched"]` counts the chunks the
    fills fetched from the origin (those the edge did not hold): the fills' cost, beside the
    misses'."""
    g_ts, g_keys = _global_sessions(routed)
    learned = _learned_ranking(routed, policy) if policy.learned_every > 0 else None
    hashes = np.array([stable_hash(k) for k in routed.keys], dtype=np.uint64)
    pin_cap = int(capacity * policy.pin_share)
    # A pinned title is stored at its first request (the edge's `@pinned` location); the LRU
    # zone stores a file at its `min_uses`-th request.
    zones = {
        True: NginxCache(pin_cap, min_uses=1, inactive=policy.inactive, valid=policy.valid),
        False: NginxCache(
            capacity - pin_cap,
            min_uses=policy.min_uses,
            inactive=policy.inactive,
            valid=policy.valid,
        ),
    }
    half_life = policy.half_life_hours * 3600
    local, glob = DecayingSketch(half_life=half_life), DecayingSketch(half_life=half_life)
    edges = max(1, len(routed.edges))
    objs, ts = es.objs, es.ts
    n = len(objs)
    mask = (1 << CHUNK_BITS) - 1
    fills = (
        warmer.fill_times(ts[0], ts[-1]) if warmer is not None and site is not None and n else []
    )
    largest: dict[int, int] = {}  # title → chunks of its longest session so far, here
    known = np.zeros(len(routed.keys) + 1, dtype=bool)  # titles anyone has played so far
    candidates = np.zeros(0, dtype=np.int64)
    lo = 0
    g_done = 0
    f = 0
    # With `mode_every`: the edge starts pin-only and replays both uses of its cache beside
    # the real one (`_Arms`); once it has `mode_lookups` cache-sizes of lookups it checks,
    # every `mode_every`, which of the two has hit more so far, and runs that one in its one
    # zone. The pin arm follows the hourly pin lists of a pin-only edge, whatever the mode.
    mode_pin = True
    last_learned: set[int] = set()
    arms: _Arms | None = None
    if policy.mode_every:
        # One zone, the whole cache, in either mode: "pin" admits the pin list only and stores
        # at the first request, "lru" admits every title played before and stores at the
        # `min_uses`-th. A switch is a new admission list and min_uses (a reload): the files
        # already stored stay and are evicted by the zone's LRU as any others.
        one = NginxCache(capacity, inactive=policy.inactive, valid=policy.valid)
        zones = {True: one, False: one}
        pin_cap = capacity
        next_mode_at = -math.inf
        arms = _Arms(capacity, policy.min_uses, inactive=policy.inactive, valid=policy.valid)
    # The lists are decided at the start of every interval the edge serves a lookup in, and of
    # every interval a fill falls in: warming runs on its schedule, busy edge or idle (fills
    # before the edge's first interval find nothing to fetch and are left out).
    if fills:
        fills = [at for at in fills if at >= math.floor(ts[0] / policy.interval) * policy.interval]
    while lo < n:
        start = math.floor(ts[lo] / policy.interval) * policy.interval
        if f < len(fills):
            start = min(start, math.floor(fills[f] / policy.interval) * policy.interval)
        end = start + policy.interval
        hi = bisect.bisect_left(ts, end, lo)
        # History strictly before `start`: this edge's sessions so far, and every edge's.
        g_upto = int(np.searchsorted(g_ts, start, side="left"))
        if g_upto > g_done:
            glob.add(hashes[g_keys[g_done:g_upto]], g_ts[g_done:g_upto])
            known[g_keys[g_done:g_upto]] = True
            candidates = np.flatnonzero(known)
            g_done = g_upto
        chunks_per_title = sum(largest.values()) / len(largest) if largest else 1.0
        lists = decide(
            keys=candidates,
            local=local.estimate(hashes[candidates], start),
            glob=glob.estimate(hashes[candidates], start),
            edges=edges,
            policy=policy,
            pin_titles=int(pin_cap / max(1.0, chunks_per_title)),
        )
        pinned, admitted = lists.pinned, lists.admitted
        ranking = lists.score  # how the pin list ranks its titles: a fill reads the coldest first
        # The learned list, hourly, the titles of the list the edge last served under kept
        # while ranked within `learned_keep` x its length (a fill fetches the list as it
        # stands; a fill in an idle hour does not move what the next busy hour keeps, so a
        # warmed replay keeps what the cold one does).
        scores = learned.score(edge, start) if learned is not None else None
        if scores is not None and len(candidates):
            ranking = scores[candidates]
            pinned = _learned_pins(
                scores,
                candidates,
                int(pin_cap / max(1.0, chunks_per_title)),
                previous=last_learned,
                keep=policy.learned_keep,
            )
            if hi > lo:
                last_learned = pinned
        seg, pin_list = lo, pinned
        played: set[int] = set()  # every title played before, anywhere: the LRU mode's list
        if arms is not None:
            played = {int(k) for k in candidates}
            if (
                hi > lo
                and may_choose(
                    lookups=arms.lookups, capacity=capacity, mode_lookups=policy.mode_lookups
                )
                and start >= next_mode_at
            ):
                next_mode_at = start + policy.mode_every
                if choose(pin=mode_pin, hits=arms.hits, margin=policy.mode_margin) != mode_pin:
                    mode_pin = not mode_pin
                    zones[True].min_uses = 1 if mode_pin else policy.min_uses
            if not mode_pin:
                pinned, admitted = set(), set(played)  # the fills below add launches to it
            else:
                admitted = set()  # the pin list alone (and the warmer's launches, below)
        while f < len(fills) and fills[f] < end:
            at = fills[f]
            f += 1
            if at < start or warmer is None or site is None:
                continue
            # Run up to the fill, then read what the edge should hold through it: every chunk
            # of the pinned titles into their zone, coldest title first and a title's last
            # chunk first, so the best-ranked first chunks end at the head of the zone's LRU
            # queue (a chunk the zone holds is a hit that moves it there, as the warmer's
            # request does on a real edge; `cdn.warming.prefetch`); the warmer's launches
            # into the LRU zone (admitted for it).
            mid = bisect.bisect_left(ts, at, lo, hi)
            _run_zones(zones, objs, ts, hits, lo, mid, pinned, admitted)
            lo = mid
            fetched = 0
            if pinned:
                rank = dict(zip(candidates.tolist(), ranking.tolist(), strict=True))
                pin_zone = zones[True]
                for key in sorted(pinned, key=lambda k: (rank.get(k, 0.0), -k)):
                    for c in range(largest.get(key, 1) - 1, -1, -1):
                        fetched += (key << CHUNK_BITS | c) not in pin_zone
                        pin_zone.insert(key << CHUNK_BITS | c, ts=at)
            for chunk in reversed(warmer.plan(site, warmer.main_fill(at) or at).get(edge, [])):
                obj = routed.obj(chunk)
                admitted.add(obj >> CHUNK_BITS)
                if obj not in zones[False] and (obj >> CHUNK_BITS) not in pinned:
                    fetched += 1
                    zones[False].insert(obj, ts=at)
            if stats is not None and fetched:
                _count(stats, "fetched", fetched)
        _run_zones(zones, objs, ts, hits, lo, hi, pinned, admitted)
        if arms is not None:
            arms.replay(objs, ts, seg, hi, pinned=pin_list, played=played)
        # What this interval adds to the history the next decision sees.
        for i in range(lo, hi):
            o = objs[i]
            key, c = o >> CHUNK_BITS, o & mask
            if c + 1 > largest.get(key, 0):
                largest[key] = c + 1
        firsts = [i for i in range(lo, hi) if objs[i] & mask == 0]
        if firsts:
            local.add(
                hashes[[objs[i] >> CHUNK_BITS for i in firsts]],
                np.array([ts[i] for i in firsts]),
            )
        lo = hi


def _learned_pins(
    scores: Any, candidates: Any, length: int, *, previous: set[int], keep: float
) -> set[int]:
    """The `length` titles the model ranks first, except that a title of the `previous` list
    ranked within `keep` x `length` keeps its place ahead of newcomers."""
    if length <= 0:
        return set()
    ranked = candidates[np.argsort(-scores[candidates], kind="stable")].tolist()
    stay = [k for k in ranked[: int(keep * length)] if k in previous][:length]
    chosen = set(stay)
    for k in ranked:
        if len(chosen) >= length:
            break
        chosen.add(k)
    return chosen


class _Arms(Arms):
    """`cdn.edge_mode.Arms` over the simulator's stream: lookups lo..hi of `objs`, each chunk
    id's title its high bits. What the edge's own past says about the two uses of its cache,
    and nothing later."""

    def replay(
        self,
        objs: list[int],
        ts: list[float],
        lo: int,
        hi: int,
        *,
        pinned: set[int],
        played: set[int],
    ) -> None:
        """Lookups lo..hi through both arms: the pin arm under `pinned`, the LRU arm admitting
        `played` (every title played before)."""
        seg = objs[lo:hi]
        self.feed(seg, ts[lo:hi], [o >> CHUNK_BITS for o in seg], pinned=pinned, played=played)


def _run_zones(
    zones: dict[bool, NginxCache],
    objs: list[int],
    ts: list[float],
    hits: bytearray,
    lo: int,
    hi: int,
    pinned: set[int],
    admitted: set[int],
) -> None:
    """The lookups lo..hi through the zone the pin list names; the zones are independent
    caches, so each replays its own subsequence in order. One zone for both (the per-edge
    mode) replays them all in order, storing what either list names."""
    if lo >= hi:
        return
    if zones[True] is zones[False]:
        ok = pinned | admitted
        listed = [1 if (objs[i] >> CHUNK_BITS) in ok else 0 for i in range(lo, hi)]
        one_hits = bytearray(hi - lo)
        zones[True].run(objs[lo:hi], 0, hi - lo, one_hits, ts=ts[lo:hi], admit=listed)
        for j in range(hi - lo):
            if one_hits[j]:
                hits[lo + j] = 1
        return
    for pin in (True, False):
        idx = [i for i in range(lo, hi) if ((objs[i] >> CHUNK_BITS) in pinned) is pin]
        if not idx:
            continue
        sub = [objs[i] for i in idx]
        sub_hits = bytearray(len(idx))
        admit = None if pin else [1 if (o >> CHUNK_BITS) in admitted else 0 for o in sub]
        zones[pin].run(sub, 0, len(idx), sub_hits, ts=[ts[i] for i in idx], admit=admit)
        for j, i in enumerate(idx):
            if sub_hits[j]:
                hits[i] = 1


class _EdgeReplay:
    """One edge's cache through a replay: fills, reads, and the warming counts (`Result.warm`)."""

    def __init__(
        self,
        cache: Any,
        *,
        routed: Routed,
        policy: str,
        capacity: int,
        budget: int,
        stats: dict[str, int],
        pin_share: float,
        pin_hours: float,
    ) -> None:
        self.cache = cache
        self.routed = routed
        self.policy = policy
        self.capacity = capacity
        self.budget = budget
        self.stats = stats
        self.pin_share = pin_share
        self.pin_hours = pin_hours
        self.fetched: set[int] = set()  # fetched by the last fill, not read since
        self.pinned: dict[int, float] = {}  # reserved launch chunks → expiry
        self.warmed: set[int] = set()  # every chunk a fill put here
        self.seen: set[int] = set()  # every chunk read here so far

    def replay(
        self,
        es: EdgeStream,
        hits: bytearray,
        warmer: Warmer | None,
        site: str | None,
        edge: str,
        fills: list[float],
    ) -> None:
        """The policy's own loop between fills; the fills in between."""
        run = self.cache.run
        extra: dict[str, Any] = {"ts": es.ts} if isinstance(self.cache, NginxCache) else {}
        lo = 0
        topups = warmer is not None and warmer.topup_hour is not None
        for at in fills:
            hi = bisect.bisect_left(es.ts, at, lo)
            run(es.objs, lo, hi, hits, **extra)
            if topups:
                self.seen.update(es.objs[lo:hi])
            lo = hi
            assert warmer is not None and site is not None
            self.fill(warmer, site, edge, at)
        run(es.objs, lo, len(es.objs), hits, **extra)

    def replay_slowly(
        self, es: EdgeStream, hits: bytearray, warmer: Warmer | None, site: str | None, edge: str
    ) -> None:
        """One lookup at a time, counting where every warmed chunk went."""
        fills: list[float] = []
        if warmer is not None and site is not None and es.objs:
            fills = warmer.fill_times(es.ts[0], es.ts[-1])
        f = 0
        for i, (obj, ts) in enumerate(zip(es.objs, es.ts, strict=True)):
            while f < len(fills) and fills[f] <= ts:
                assert warmer is not None and site is not None
                self.fill(warmer, site, edge, fills[f])
                f += 1
            hit = self.read(obj, i, ts)
            if warmer is not None and site is not None:
                self.first_read(warmer, site, edge, obj, hit, fills[f - 1] if f else None)
            if hit:
                hits[i] = 1
        self._settle()

    def _settle(self) -> None:
        for left in self.fetched:
            _count(self.stats, "unread_kept" if left in self.cache else "unread_evicted")
        self.fetched = set()

    def fill(self, warmer: Warmer, site: str, edge: str, at: float) -> None:
        self._settle()
        cache = self.cache
        enc = self.routed.obj
        main_at = warmer.main_fill(at)
        if main_at is not None:
            # Top-up: the morning's launch chunks not read here yet.
            plan = [enc(c) for c in warmer.plan(site, main_at).get(edge, [])]
            unread = [c for c in plan if c not in self.seen][: self.budget]
            self.fetched = {c for c in unread if c not in cache}
            self.warmed.update(self.fetched)
            _count(self.stats, "topup_fetched", len(self.fetched))
            for chunk in reversed(unread):
                if self.policy == "s3fifo":
                    cache.insert(chunk, warmed="tail")
                elif chunk in cache and self.policy == "lru":
                    cache.touch(chunk)
                else:
                    cache.insert(chunk)
            return
        launching = {
            enc(c) for c in warmer.plan(site, at).get(edge, []) if warmer.launching(c[0], at)
        }
        plan = [enc(c) for c in warmer.plan(site, at).get(edge, [])]
        wanted = [c for c in plan if c not in cache and c not in self.pinned][: self.budget]
        if self.pin_share > 0:
            room = int(self.capacity * self.pin_share) - len(self.pinned)
            for chunk in [c for c in wanted if c in launching]:
                if room <= 0:
                    break
                self.pinned[chunk] = warmer.releases[self.routed.chunk(chunk)[0]] + (
                    self.pin_hours * 3600
                )
                room -= 1
                _count(self.stats, "pinned")
            wanted = [c for c in wanted if c not in self.pinned]
            cache.resize(self.capacity - len(self.pinned))
        self.fetched = set(wanted)
        self.warmed.update(wanted, self.pinned)
        _count(self.stats, "fetched", len(self.fetched))
        if self.policy == "s3fifo":
            # Head: hottest first, so the coldest is evicted first. Tail: coldest first, so the
            # hottest is evicted last.
            for chunk in [c for c in wanted if c not in launching]:
                cache.insert(chunk, warmed="head")
            for chunk in reversed([c for c in wanted if c in launching]):
                cache.insert(chunk, warmed="tail")
        elif isinstance(cache, NginxCache):
            for chunk in reversed(wanted):
                cache.insert(chunk, ts=at)
        else:
            for chunk in reversed(wanted):
                cache.insert(chunk)

    def read(self, obj: int, i: int, ts: float) -> bool:
        if self.fetched and obj in self.fetched:
            self.fetched.discard(obj)
            _count(self.stats, "read_cached" if obj in self.cache else "read_after_eviction")
        from_pin = False
        if self.pinned:
            expired = [c for c, until in self.pinned.items() if until <= ts]
            for c in expired:
                del self.pinned[c]
                _count(self.stats, "pin_expired")
            if obj in self.pinned:
                del self.pinned[obj]
                from_pin = True
            if expired or from_pin:
                self.cache.resize(self.capacity - len(self.pinned))
        return self.cache.access(obj, i) or from_pin

    def first_read(
        self, warmer: Warmer, site: str, edge: str, obj: int, hit: bool, last_fill: float | None
    ) -> None:
        """Count a release chunk's first read here, and why it missed if it did."""
        if obj in self.seen:
            return
        self.seen.add(obj)
        chunk = self.routed.chunk(obj)
        if chunk[0] not in warmer.releases:
            return
        _count(self.stats, "release_first_reads")
        if hit:
            _count(self.stats, "release_first_hits")
        elif obj in self.warmed:
            _count(self.stats, "miss_warmed_evicted")
        elif last_fill is not None:
            _count(self.stats, warmer.why_missed(site, last_fill, edge, chunk))


def _count(stats: dict[str, int], what: str, n: int = 1) -> None:
    stats[what] = stats.get(what, 0) + n


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


def iter_report(results: list[Result]) -> Iterator[str]:
    for r in results:
        yield (
            f"{r.policy:7s} warming={'yes' if r.warming else 'no ':3s} "
            f"object_hit={r.object_hit_ratio:.4f} byte_hit={r.byte_hit_ratio:.4f}"
        )
