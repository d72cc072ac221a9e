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
import csv
import heapq
import math
import random
from collections import OrderedDict, defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cdn.snapshot import EdgeInfo, SiteInfo, Snapshot
from cdn.steering import Steerer
from cdn.warming import assign_edges, decayed_demand, with_releases

DAY = 86_400
# 2023-11-14 00:00 UTC: generated days start at midnight, so "04:00" means 04:00 on the trace.
DEFAULT_START = 1_699_920_000.0


@dataclass
class Request:
    ts: float
    client: str
    key: str
    nbytes: int


def read_trace(path: str) -> list[Request]:
    with open(path, newline="") as fh:
        rows = csv.reader(fh)
        out = []
        for row in rows:
            if not row or row[0] == "timestamp":
                continue
            out.append(Request(float(row[0]), row[1], row[2], int(row[3])))
    return out


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalogue knows about a content key before anyone plays it."""

    nbytes: int
    available_from: float | None = None  # epoch seconds; None: available all along


Catalog = dict[str, CatalogEntry]


def read_catalog(path: str) -> Catalog:
    out: Catalog = {}
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if not row or row[0] == "content_key":
                continue
            out[row[0]] = CatalogEntry(int(row[1]), float(row[2]) if row[2] else None)
    return out


def write_catalog(path: str, catalog: Catalog) -> int:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["content_key", "bytes", "available_from"])
        for key in sorted(catalog):
            entry = catalog[key]
            at = "" if entry.available_from is None else f"{entry.available_from:.0f}"
            writer.writerow([key, entry.nbytes, at])
    return len(catalog)


def write_trace(path: str, requests: Iterable[Request]) -> int:
    n = 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "client", "content_key", "bytes"])
        for r in requests:
            writer.writerow([f"{r.ts:.0f}", r.client, r.key, r.nbytes])
            n += 1
    return n


# --- Trace generator --------------------------------------------------------------------------


def generate_trace(**kwargs: Any) -> list[Request]:
    """The sessions of `generate_workload` (same arguments), without the catalogue."""
    return generate_workload(**kwargs)[0]


def generate_workload(
    *,
    requests: int = 20_000,
    titles: int = 2_000,
    regions: int = 4,
    days: int = 3,
    alpha: float = 0.9,
    new_releases_per_day: int = 5,
    release_share: float = 0.3,
    release_hour: int = 8,
    seed: int = 1,
    start: float = DEFAULT_START,
) -> tuple[list[Request], Catalog]:
    """Zipf popularity, a daily cycle peaking in the evening, new releases that start hot and
    cool, and viewers who abandon titles part-way. Clients are 10.<region>.x.y addresses.

    Each day's releases become available at `release_hour` (08:00, the quiet hour of the daily
    cycle, as a worldwide launch at midnight Pacific is in Europe) and draw `release_share` of
    the sessions of the 24 hours that follow. The catalogue returned with the sessions holds
    every title's size and each release's availability start, as a real catalogue knows them
    before the first play.
    """
    rng = random.Random(seed)
    sizes = [
        rng.randint(300, 2_000) * 1_000_000 for _ in range(titles + days * new_releases_per_day)
    ]
    catalog: Catalog = {_key(t): CatalogEntry(sizes[t]) for t in range(titles)}
    for day in range(days):
        for k in range(new_releases_per_day):
            title = titles + day * new_releases_per_day + k
            catalog[_key(title)] = CatalogEntry(
                sizes[title], start + day * DAY + release_hour * 3600
            )
    weights = [1.0 / (rank + 1) ** alpha for rank in range(titles)]
    # Regions share tastes but not exactly: a fifth of the ranks are shuffled per region.
    region_orders = []
    for _ in range(regions):
        order = list(range(titles))
        for _ in range(titles // 5):
            i, j = rng.randrange(titles), rng.randrange(titles)
            order[i], order[j] = order[j], order[i]
        region_orders.append(order)
    total_w = sum(weights)
    per_day = requests // days
    out: list[Request] = []
    for day in range(days):
        releases = [titles + day * new_releases_per_day + k for k in range(new_releases_per_day)]
        # Daily cycle: more sessions in the evening (local time = UTC for simplicity).
        hours = [1.0 + math.cos((h - 20) / 24 * 2 * math.pi) for h in range(24)]
        hour_cdf = _cdf(hours)
        cum = _cdf(weights)
        for _ in range(per_day):
            region = rng.randrange(regions)
            release = bool(releases) and rng.random() < release_share
            if release:
                title = releases[int(len(releases) * rng.random() ** 2)]
            else:
                rank = _pick(cum, rng.random() * total_w)
                title = region_orders[region][rank]
            hour = _pick(hour_cdf, rng.random() * hour_cdf[-1])
            if release and hour < release_hour:
                hour += 24  # a release's day is the 24 hours after its launch
            ts = start + day * DAY + hour * 3600 + rng.random() * 3600
            frac = rng.random() * 0.15 if rng.random() < 0.35 else rng.uniform(0.5, 1.0)
            nbytes = max(1, int(sizes[title] * frac))
            client = f"10.{region}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            out.append(Request(ts, client, _key(title), nbytes))
    out.sort(key=lambda r: r.ts)
    return out, catalog


def _key(title: int) -> str:
    return f"hls/t{title:05d}/v1/"


def _cdf(weights: list[float]) -> list[float]:
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _pick(cdf: list[float], x: float) -> int:
    return min(len(cdf) - 1, bisect.bisect_left(cdf, x))


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


# --- Cache policies (uniform chunk sizes: capacity counted in chunks) -------------------------


class LRU:
    name = "lru"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[Any, None] = OrderedDict()

    def access(self, obj: Any, now: int = 0) -> bool:
        if obj in self.items:
            self.items.move_to_end(obj)
            return True
        self.insert(obj)
        return False

    def insert(self, obj: Any) -> None:
        if self.capacity <= 0 or obj in self.items:
            return
        self.items[obj] = None
        self.items.move_to_end(obj)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)

    def __contains__(self, obj: Any) -> bool:
        return obj in self.items

    def touch(self, obj: Any) -> None:
        """A fetch that hits: the object becomes the most recent (no hit is counted)."""
        self.items.move_to_end(obj)

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        while len(self.items) > max(0, capacity):
            self.items.popitem(last=False)


class S3FIFO:
    """S3-FIFO (Yang et al., SOSP '23): a small probationary FIFO (10%), a main FIFO with
    2-bit frequency and reinsertion, and a ghost FIFO of recently evicted keys."""

    name = "s3fifo"

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.small_cap = max(1, capacity // 10)
        self.main_cap = max(0, capacity - self.small_cap)
        self.small: deque[Any] = deque()
        self.main: deque[Any] = deque()
        self.ghost: OrderedDict[Any, None] = OrderedDict()
        self.freq: dict[Any, int] = {}
        self.where: dict[Any, str] = {}

    def __contains__(self, obj: Any) -> bool:
        return obj in self.where

    def resize(self, capacity: int) -> None:
        self.capacity = capacity
        self.small_cap = max(1, capacity // 10)
        self.main_cap = max(0, capacity - self.small_cap)
        while self.where and len(self.where) > max(0, capacity):
            self._evict()

    def access(self, obj: Any, now: int = 0) -> bool:
        if obj in self.where:
            self.freq[obj] = min(3, self.freq[obj] + 1)
            return True
        self.insert(obj, ghost_hit=obj in self.ghost)
        return False

    def insert(
        self,
        obj: Any,
        *,
        ghost_hit: bool = False,
        main: bool = False,
        warmed: str = "",
    ) -> None:
        if self.capacity <= 0 or obj in self.where:
            return
        while len(self.where) >= self.capacity:
            self._evict()
        self.freq[obj] = 0
        if warmed:
            # A fill's prediction skips probation but earns no frequency: "tail" (a scheduled
            # launch) gets one pass of main to be read, "head" (a guess from past plays) is the
            # next thing main evicts. Either way an unread warmed chunk never outlives an object
            # that proved itself by a hit.
            self.ghost.pop(obj, None)
            if warmed == "head":
                self.main.appendleft(obj)
            else:
                self.main.append(obj)
            self.where[obj] = "m"
        elif ghost_hit or main:
            self.ghost.pop(obj, None)
            self.main.append(obj)
            self.where[obj] = "m"
        else:
            self.small.append(obj)
            self.where[obj] = "s"

    def _evict(self) -> None:
        if len(self.small) >= self.small_cap or not self.main:
            self._evict_small()
        else:
            self._evict_main()

    def _evict_small(self) -> None:
        while self.small:
            obj = self.small.popleft()
            if self.freq[obj] > 0:
                self.main.append(obj)
                self.where[obj] = "m"
                self.freq[obj] = 0
                if len(self.main) > self.main_cap:
                    self._evict_main()
                    return
            else:
                del self.where[obj], self.freq[obj]
                self.ghost[obj] = None
                while len(self.ghost) > self.main_cap:
                    self.ghost.popitem(last=False)
                return
        self._evict_main()

    def _evict_main(self) -> None:
        while self.main:
            obj = self.main.popleft()
            if self.freq[obj] > 0:
                self.freq[obj] -= 1
                self.main.append(obj)
            else:
                del self.where[obj], self.freq[obj]
                return


class Belady:
    """Offline optimum for uniform sizes: evict what is next needed furthest in the future."""

    name = "belady"

    def __init__(self, capacity: int, next_use: list[int]) -> None:
        self.capacity = capacity
        self.next_use = next_use
        self.items: dict[Any, int] = {}
        self.heap: list[tuple[int, Any]] = []

    def __contains__(self, obj: Any) -> bool:
        return obj in self.items

    def access(self, obj: Any, now: int = 0) -> bool:
        nxt = self.next_use[now]
        hit = obj in self.items
        if not hit and self.capacity <= 0:
            return False
        if not hit and len(self.items) >= self.capacity:
            # Bypass: the newcomer is needed later than everything held.
            while self.heap and self.items.get(self.heap[0][1]) != -self.heap[0][0]:
                heapq.heappop(self.heap)
            if self.heap and -self.heap[0][0] < nxt:
                return False
            while len(self.items) >= self.capacity:
                neg, victim = heapq.heappop(self.heap)
                if self.items.get(victim) == -neg:
                    del self.items[victim]
        self.items[obj] = nxt
        heapq.heappush(self.heap, (-nxt, obj))
        return hit


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


@dataclass
class Routed:
    """The trace after steering: per edge, the chunk lookups (object, bytes, timestamp)."""

    streams: dict[str, list[tuple[tuple[str, int], int, float]]] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    site_of_edge: dict[str, str] = field(default_factory=dict)
    located: dict[str, int] = field(default_factory=dict)
    # Every session as the demand signal sees it (a recorded decision): (ts, site, key, bytes),
    # oldest first. Warming reads only the ones before its fill time.
    plays: list[tuple[float, str, str, int]] = field(default_factory=list)


def route(
    requests: list[Request],
    steerer: Steerer,
    *,
    chunk_bytes: int,
    reset_load_every: float = 3600.0,
) -> Routed:
    """Run every session through the real steering code (first URL wins)."""
    snap = steerer.snapshot
    by_name = {s.name: s for s in snap.sites.values()}
    routed = Routed()
    for edge in snap.edges.values():
        routed.site_of_edge[edge.name] = snap.sites[edge.site_id].name
    # Steering's handed-out counts restart every `reset_load_every` seconds of trace time, as
    # they would with each new load reading; wall time plays no part in a replay.
    trace_now = [requests[0].ts if requests else 0.0]
    steerer.use_clock(lambda: trace_now[0], assigned_window=reset_load_every)
    for req in requests:
        trace_now[0] = req.ts
        site = by_name.get(req.client)
        if site is not None:
            decision = steerer.steer(client_ip="192.0.2.1", content_key=req.key, site_hint=site.id)
        else:
            decision = steerer.steer(client_ip=req.client, content_key=req.key)
        edge_name = decision.edges[0]
        routed.located[decision.located_by] = routed.located.get(decision.located_by, 0) + 1
        routed.sessions[edge_name] = routed.sessions.get(edge_name, 0) + 1
        site_name = routed.site_of_edge.get(edge_name, "origin")
        routed.plays.append((req.ts, site_name, req.key, req.nbytes))
        chunks = max(1, math.ceil(req.nbytes / chunk_bytes))
        stream = routed.streams.setdefault(edge_name, [])
        for c in range(chunks):
            nbytes = chunk_bytes if c < chunks - 1 else req.nbytes - chunk_bytes * (chunks - 1)
            stream.append(((req.key, c), nbytes, req.ts))
    routed.plays.sort(key=lambda p: p[0])
    return routed


def _next_uses(stream: list[tuple[tuple[str, int], int, float]]) -> list[int]:
    nxt = [0] * len(stream)
    last: dict[Any, int] = {}
    for i in range(len(stream) - 1, -1, -1):
        obj = stream[i][0]
        nxt[i] = last.get(obj, 1 << 62)
        last[obj] = i
    return nxt


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
        past = self.routed.plays[: bisect.bisect_left(self._times, at)]  # strictly before `at`
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
) -> list[Result]:
    """Per-edge caches of `fraction` of each edge's working set; aggregate ratios per policy.

    With warming, each fill fetches onto every edge the chunks of the warmer's plan it does not
    hold, best first, at most `warm_share` of its cache. LRU takes them at the most recent end,
    coldest first (what a fetch through an nginx edge does). S3-FIFO takes a scheduled launch's
    chunks at the tail of its main queue with no frequency credit (one pass of main to be read,
    then gone unless read: a launch is a known demand, not a guess) and any other warmed chunk
    at the head of main (the next to go unless read), so a wrong prediction never outlives an
    object that proved itself. With `pin_share` > 0 a launch's chunks are instead held outside
    the policy (the policy's capacity shrinks by as much) until read or `pin_hours` after the
    launch, at most `pin_share` of the cache.

    `Result.warm` says where the fills went: chunks `fetched`, then `read_cached` (read while
    still held), `read_after_eviction`, `unread_kept` / `unread_evicted` at the next fill;
    `release_first_reads` (a release chunk's first read on the edge: what a fill can win),
    `release_first_hits`, and for the misses the reason (`miss_warmed_evicted`,
    `miss_beyond_budget`, `miss_other_edge`, `miss_chunk_not_planned`, `miss_key_not_planned`).
    """
    if warmer is None and True in warming:
        warmer = Warmer(routed, steerer, chunk_bytes=chunk_bytes, catalog=catalog)
    results = []
    for policy in policies:
        for warm in warming:
            if policy == "belady" and warm:
                continue
            res = Result(policy=policy, warming=warm)
            for edge_name, stream in routed.streams.items():
                working = len({obj for obj, _, _ in stream})
                capacity = max(1, int(working * fraction))
                cache: Any
                if policy == "lru":
                    cache = LRU(capacity)
                elif policy == "s3fifo":
                    cache = S3FIFO(capacity)
                else:
                    cache = Belady(capacity, _next_uses(stream))
                site = routed.site_of_edge.get(edge_name)
                fills: list[float] = []
                if warm and warmer is not None and site is not None and stream:
                    fills = warmer.fill_times(stream[0][2], stream[-1][2])
                replay = _EdgeReplay(
                    cache,
                    policy=policy,
                    capacity=capacity,
                    budget=int(capacity * warm_share),
                    stats=res.warm,
                    pin_share=pin_share,
                    pin_hours=pin_hours,
                )
                f = 0
                for i, (obj, nbytes, ts) in enumerate(stream):
                    while f < len(fills) and fills[f] <= ts:
                        assert warmer is not None and site is not None
                        replay.fill(warmer, site, edge_name, fills[f])
                        f += 1
                    hit = replay.read(obj, i, ts)
                    if warm and warmer is not None and site is not None:
                        replay.first_read(
                            warmer, site, edge_name, obj, hit, fills[f - 1] if f else None
                        )
                    res.requests += 1
                    res.bytes_total += nbytes
                    if hit:
                        res.hits += 1
                        res.bytes_hit += nbytes
                replay.finish()
            results.append(res)
    return results


class _EdgeReplay:
    """One edge's cache through a replay: fills, reads, and the warming counts (`Result.warm`)."""

    def __init__(
        self,
        cache: Any,
        *,
        policy: str,
        capacity: int,
        budget: int,
        stats: dict[str, int],
        pin_share: float,
        pin_hours: float,
    ) -> None:
        self.cache = cache
        self.policy = policy
        self.capacity = capacity
        self.budget = budget
        self.stats = stats
        self.pin_share = pin_share
        self.pin_hours = pin_hours
        self.fetched: set[Any] = set()  # fetched by the last fill, not read since
        self.pinned: dict[Any, float] = {}  # reserved launch chunks → expiry
        self.warmed: set[Any] = set()  # every chunk a fill put here
        self.seen: set[Any] = set()  # every chunk read here so far

    def _settle(self) -> None:
        for left in self.fetched:
            _count(self.stats, "unread_kept" if left in self.cache else "unread_evicted")
        self.fetched = set()

    def fill(self, warmer: Warmer, site: str, edge: str, at: float) -> None:
        self._settle()
        cache = self.cache
        main_at = warmer.main_fill(at)
        if main_at is not None:
            # Top-up: the morning's launch chunks not read here yet.
            plan = warmer.plan(site, main_at).get(edge, [])
            unread = [c for c in plan if c not in self.seen][: self.budget]
            self.fetched = {c for c in unread if c not in cache}
            self.warmed.update(self.fetched)
            _count(self.stats, "topup_fetched", len(self.fetched))
            for chunk in reversed(unread):
                if self.policy == "s3fifo":
                    cache.insert(chunk, warmed="tail")
                elif chunk in cache:
                    cache.touch(chunk)
                else:
                    cache.insert(chunk)
            return
        plan = warmer.plan(site, at).get(edge, [])
        wanted = [c for c in plan if c not in cache and c not in self.pinned][: self.budget]
        if self.pin_share > 0:
            room = int(self.capacity * self.pin_share) - len(self.pinned)
            for chunk in [c for c in wanted if warmer.launching(c[0], at)]:
                if room <= 0:
                    break
                self.pinned[chunk] = warmer.releases[chunk[0]] + self.pin_hours * 3600
                room -= 1
                _count(self.stats, "pinned")
            wanted = [c for c in wanted if c not in self.pinned]
            cache.resize(self.capacity - len(self.pinned))
        self.fetched = set(wanted)
        self.warmed.update(wanted, self.pinned)
        _count(self.stats, "fetched", len(self.fetched))
        if self.policy == "s3fifo":
            guesses = [c for c in wanted if not warmer.launching(c[0], at)]
            launches = [c for c in wanted if warmer.launching(c[0], at)]
            # Head: hottest first, so the coldest is evicted first. Tail: coldest first, so the
            # hottest is evicted last.
            for chunk in guesses:
                cache.insert(chunk, warmed="head")
            for chunk in reversed(launches):
                cache.insert(chunk, warmed="tail")
        else:
            for chunk in reversed(wanted):
                cache.insert(chunk)

    def read(self, obj: Any, i: int, ts: float) -> bool:
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
        self, warmer: Warmer, site: str, edge: str, obj: Any, hit: bool, last_fill: float | None
    ) -> None:
        """Count a release chunk's first read here, and why it missed if it did."""
        if obj in self.seen:
            return
        self.seen.add(obj)
        if obj[0] not in warmer.releases:
            return
        _count(self.stats, "release_first_reads")
        if hit:
            _count(self.stats, "release_first_hits")
        elif obj in self.warmed:
            _count(self.stats, "miss_warmed_evicted")
        elif last_fill is not None:
            _count(self.stats, warmer.why_missed(site, last_fill, edge, obj))

    def finish(self) -> None:
        self._settle()


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
