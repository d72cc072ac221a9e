"""Warming in the simulator: the daily fill as `cdn.warming` plans it, and a reference cache
replayed with its fills (the edge policy's own replay, `cdn.edge_replay`, fills through its
zones)."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from typing import Any

from cdn.caches import NginxCache
from cdn.routed_trace import EdgeStream, Routed
from cdn.snapshot import EdgeInfo
from cdn.steering import Steerer
from cdn.traces import DAY, Catalog
from cdn.warming import LOOKBACK_S, assign_edges, decayed_demand, with_releases


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


class ReferenceReplay:
    """One edge's reference cache (LRU, S3-FIFO, Belady, stock nginx) through a replay: fills,
    reads, and the warming counts (`Result.warm`)."""

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
            add_count(self.stats, "unread_kept" if left in self.cache else "unread_evicted")
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
            add_count(self.stats, "topup_fetched", len(self.fetched))
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
                add_count(self.stats, "pinned")
            wanted = [c for c in wanted if c not in self.pinned]
            cache.resize(self.capacity - len(self.pinned))
        self.fetched = set(wanted)
        self.warmed.update(wanted, self.pinned)
        add_count(self.stats, "fetched", len(self.fetched))
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
            add_count(self.stats, "read_cached" if obj in self.cache else "read_after_eviction")
        from_pin = False
        if self.pinned:
            expired = [c for c, until in self.pinned.items() if until <= ts]
            for c in expired:
                del self.pinned[c]
                add_count(self.stats, "pin_expired")
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
        add_count(self.stats, "release_first_reads")
        if hit:
            add_count(self.stats, "release_first_hits")
        elif obj in self.warmed:
            add_count(self.stats, "miss_warmed_evicted")
        elif last_fill is not None:
            add_count(self.stats, warmer.why_missed(site, last_fill, edge, chunk))


def add_count(stats: dict[str, int], what: str, n: int = 1) -> None:
    stats[what] = stats.get(what, 0) + n
