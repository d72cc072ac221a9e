"""Would pre-fetching what a viewer is predicted to play next lift ml-100k? Measured: no.

ml-100k is the one real-timestamp trace where the edge policy stays short of 0.70 x Belady at
5% (docs/benchmarks.md, "How far a list can go"). A popularity list cannot close the gap: the
best fixed list per edge, known in hindsight, reaches 0.699. What a list does not use is *who*
is watching: a MovieLens viewer rates in bursts, so when one starts a visit, their next
requests are likely to be titles like the ones they have rated. This bench asks whether an edge
that pre-fetches those titles when a viewer's visit begins would hit more, and what it costs
the origin.

The replay is this bench's own, simpler than `cdn.simulator` (so its baseline is not the
`edge` policy's number): the trace as `bench/cdn_real_traces.py` routes it (one session per
rating at its real time, one chunk per session, each viewer's site the stable hash of their
zip code's first three digits, 19 sites of one edge), each edge a cache of 5% of its working
set:

- `list`: a pin zone holding the titles rated most so far (all sites together, decided every
  hour from the ratings before it), stored at their first request and filled each day at 07:00
  UTC; nothing else is stored. Belady over the same lookups is the yardstick.
- `+ viewer K, share S`: the same list in (1 - S) of the cache, and in the other S an LRU zone
  filled only by pre-fetches: when a viewer's visit begins (their first rating after an hour
  without one), the edge fetches the K titles predicted for them that are neither rated by them
  yet nor on the list. `cooc` predicts by item co-occurrence over every earlier rating anywhere
  (the titles most often rated by the same viewers as the viewer's own, damped by popularity^0.5);
  `popular` takes the most rated titles instead.

Reports the hit ratio as a fraction of Belady, the origin's fetches per lookup (misses plus
pre-fetches; no cache at all is 1.0) and the hits on the pre-fetch zone per pre-fetch.

    .venv/bin/python bench/cdn_viewer_prefetch.py
    BENCH_ML100K=/path/to/ml-100k BENCH_SIZE=10 .venv/bin/python bench/cdn_viewer_prefetch.py
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from cdn.caches import Belady, NginxCache  # noqa: E402
from cdn.stream_replays import next_uses  # noqa: E402
from cdn.traces import movielens_plays, movielens_regions  # noqa: E402

ML100K = os.environ.get("BENCH_ML100K", "/work/data/ml-100k")
SIZE = float(os.environ.get("BENCH_SIZE", "5")) / 100
VISIT_GAP_S = 3600.0
FILL_HOUR = 7
DAY = 86400
# (name, predictor, titles per visit, share of the cache for pre-fetches)
VARIANTS = [
    ("list", None, 0, 0.0),
    ("+ viewer popular 10, share 0.3", "popular", 10, 0.3),
    ("+ viewer cooc 5, share 0.2", "cooc", 5, 0.2),
    ("+ viewer cooc 10, share 0.3", "cooc", 10, 0.3),
    ("+ viewer cooc 20, share 0.3", "cooc", 20, 0.3),
]

Rating = tuple[float, int, int, str]  # (ts, viewer, title, site)


def ratings() -> list[Rating]:
    sites = movielens_regions(f"{ML100K}/u.user", [f"r{i}" for i in range(19)])
    plays = sorted(movielens_plays(f"{ML100K}/u.data"), key=lambda p: p[0])
    viewers = {v: i for i, v in enumerate(sorted({v for _, v, _ in plays}, key=int))}
    return [(ts, viewers[v], int(item), sites[v]) for ts, v, item in plays]


def belady_hits(titles: list[int], capacity: int) -> int:
    hits = bytearray(len(titles))
    Belady(capacity, next_uses(titles)).run(None, 0, len(titles), hits)
    return hits.count(1)


class HourlyList:
    """A pin zone and its list: the titles rated most so far (all sites together), decided
    every hour from the ratings before it; a listed title is stored at its first request, and
    the whole list is fetched into the zone at the day's first lookup after FILL_HOUR UTC."""

    def __init__(self, capacity: int) -> None:
        self.pin = NginxCache(capacity)
        self.listed: set[int] = set()
        self.hour = -1
        self.fill_day = -1

    def follow(self, count: np.ndarray, ts: float) -> int:
        """Bring the list up to `ts` (`count`: each title's ratings so far); the titles the
        day's fill fetched from the origin."""
        hour = int(ts // 3600)
        if hour == self.hour:
            return 0
        self.hour = hour
        order = np.argsort(-count, kind="stable")[: self.pin.capacity]
        ranked = [int(t) for t in order if count[t] > 0]
        self.listed = set(ranked)
        day = int((ts - FILL_HOUR * 3600) // DAY)
        if day == self.fill_day:
            return 0
        self.fill_day = day
        fetched = 0
        for t in reversed(ranked):  # coldest first
            if t not in self.pin:
                fetched += 1
            self.pin.insert(t, ts=ts)
        return fetched


class Edge:
    def __init__(self, capacity: int, share: float) -> None:
        fetch_cap = int(capacity * share)
        self.list = HourlyList(capacity - fetch_cap)
        self.fetched = NginxCache(fetch_cap) if fetch_cap else None
        self.last_seen: dict[int, float] = {}
        self.hits = self.origin = self.prefetched = self.prefetch_hits = 0


def replay(rows: list[Rating], predictor: str | None, k: int, share: float) -> list[Edge]:
    by_site: dict[str, list[int]] = defaultdict(list)
    for _, _, title, site in rows:
        by_site[site].append(title)
    edges = {s: Edge(max(1, int(len(set(t)) * SIZE)), share) for s, t in by_site.items()}
    n_titles = max(r[2] for r in rows) + 1
    count = np.zeros(n_titles)
    cooc = np.zeros((n_titles, n_titles), dtype=np.float32) if predictor == "cooc" else None
    rated: dict[int, list[int]] = defaultdict(list)
    one = bytearray(1)
    for ts, viewer, title, site in rows:
        edge = edges[site]
        edge.origin += edge.list.follow(count, ts)
        mine = rated[viewer]
        visit_begins = ts - edge.last_seen.get(viewer, -1e18) > VISIT_GAP_S
        if predictor and edge.fetched is not None and visit_begins:
            if cooc is not None and mine:
                score = cooc[mine].sum(0) / np.sqrt(np.maximum(count, 1))
            else:
                score = count.copy()
            score[mine] = -1
            score[list(edge.list.listed)] = -1
            for t in reversed(np.argsort(-score, kind="stable")[:k].tolist()):
                if score[t] > 0 and t not in edge.fetched:
                    edge.origin += 1
                    edge.prefetched += 1
                    edge.fetched.insert(t, ts=ts)
        edge.last_seen[viewer] = ts
        one[0] = 0
        if title in edge.list.listed:
            edge.list.pin.run([title], 0, 1, one, ts=[ts])
        elif edge.fetched is not None:
            edge.fetched.run([title], 0, 1, one, ts=[ts], admit=[0])
            edge.prefetch_hits += one[0]
        edge.hits += one[0]
        edge.origin += 1 - one[0]
        if cooc is not None and mine:
            cooc[title, mine] += 1
            cooc[mine, title] += 1
        mine.append(title)
        count[title] += 1
    return list(edges.values())


def main() -> None:
    rows = ratings()
    by_site: dict[str, list[int]] = defaultdict(list)
    for _, _, title, site in rows:
        by_site[site].append(title)
    best = sum(belady_hits(t, max(1, int(len(set(t)) * SIZE))) for t in by_site.values())
    n = len(rows)
    print(f"ml-100k, {n} sessions, cache {SIZE:.0%} of each edge's working set")
    print(f"Belady: object hit ratio {best / n:.4f}\n")
    print("| policy | object hit | / Belady | origin fetches per lookup | pre-fetches read |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, predictor, k, share in VARIANTS:
        started = time.perf_counter()
        edges = replay(rows, predictor, k, share)
        hits, origin = sum(e.hits for e in edges), sum(e.origin for e in edges)
        fetched = sum(e.prefetched for e in edges)
        read = f"{sum(e.prefetch_hits for e in edges) / fetched:.3f}" if fetched else ""
        print(
            f"| {name} | {hits / n:.4f} | {hits / best:.3f} | {origin / n:.3f} | {read} |"
            f" <!-- {time.perf_counter() - started:.0f} s -->",
            flush=True,
        )


if __name__ == "__main__":
    main()
