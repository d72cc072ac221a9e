"""Would admitting what a site's active viewers have not played yet lift ml-100k? Measured: no.

The bounds bench (`bench/cdn_bounds.py`) leaves one way past 0.70 x Belady at 5% on ml-100k: a
pinned list beside an LRU zone whose admission knows which titles are read again at the edge
soon (the fixed set with an oracle admission reaches 0.749). The learned admission tried
before used the titles' own history only (gaps, counts, age) and stayed below pinning the whole
cache. What it did not use is *who* is watching. A MovieLens viewer rates each title once, in
bursts: a title is read again at a site soon when a viewer active there now has not rated it
yet, the more so the more popular it is. Steering knows the viewer and the site of every start,
so such a rule could be signed into the URL like the admission flag is; this bench asks whether
it would pay before anything is built.

The replay is `bench/cdn_viewer_prefetch.py`'s (the same trace, sites, 5% of each edge's working
set, Belady as the yardstick, nginx's `proxy_cache` as `cdn.caches.NginxCache`): a pinned zone
holding a share of the cache (split as `bench/cdn_bounds.py` splits it), and an LRU zone for
the rest that stores a missed title only when the admission rule says so. The pinned zone
holds either

- `fixed set`: the titles read most at the edge over the whole trace, chosen with hindsight
  and stored before the first lookup (the bound's list; the whole cache of it is 0.699), or
- `list`: the titles rated most so far at all sites, decided every hour from the ratings
  before it and filled each day at 07:00 UTC (the prefetch bench's `HourlyList`, a policy the
  edges can run),

and the LRU zone admits

- `all`: every miss (stock nginx);
- `popular`: titles holding at least a given share of the ratings so far;
- `viewers`: titles whose share of the ratings so far, times the number of the site's other
  viewers active within a window who have not rated them, reaches a threshold (causal: only
  ratings before the lookup count);
- `oracle`: titles read again at the edge within K lookups (hindsight, the bound's rule).

Each rule's knobs and the pinned share (0.7-0.9) are swept and the best kept, which flatters
the causal rules; the whole cache pinned is printed beside them. Deterministic; about a minute.

    .venv/bin/python bench/cdn_viewer_admission.py
    BENCH_SIZE=10 .venv/bin/python bench/cdn_viewer_admission.py
"""

from __future__ import annotations

import itertools
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.cdn_viewer_prefetch import SIZE, HourlyList, Rating, belady_hits, ratings  # noqa: E402
from cdn.caches import NginxCache  # noqa: E402
from cdn.stream_replays import next_uses  # noqa: E402

SHARES = (0.9, 0.8, 0.7)  # of the cache, for the pinned zone beside an LRU zone
WINDOWS_H = (6, 24)  # a viewer counts as active this long after their last rating
THRESHOLDS = {  # per mille of the ratings so far; for `viewers`, times the active viewers
    "popular": (0.5, 1, 2, 4, 8),
    "viewers": (1, 2, 4, 8, 16),
}
WITHIN = (50, 100, 200, 400)  # the oracle's K, in lookups at the edge


class Site:
    def __init__(self, rows: list[Rating]) -> None:
        self.rows = rows
        self.titles = [title for _, _, title, _ in rows]
        self.capacity = max(1, int(len(set(self.titles)) * SIZE))
        self.next_use = next_uses(self.titles)
        self.most_read = [t for t, _ in Counter(self.titles).most_common()]


@dataclass
class Edge:
    """One site's edge during a replay: its zones and what it has seen so far."""

    site: Site
    list: HourlyList | None  # the hourly list's zone (`list`); None with the fixed set
    fixed: set[int]  # the fixed set, held from the start (`fixed`)
    lru: NginxCache
    lookups: int = 0
    last_seen: dict[int, float] = field(default_factory=dict)  # viewer -> their last rating


@dataclass
class Seen:
    """What every site has rated before the lookup being replayed."""

    count: np.ndarray  # each title's ratings so far
    rated: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    total: int = 0


def replay(
    sites: list[Site], rows: list[Rating], pinned: str, share: float, rule: str, knob: tuple
) -> int:
    """Hits over every site: `pinned` ('fixed' or 'list') in `share` of each cache, the rest an
    LRU zone behind admission `rule` with `knob` (its swept parameters)."""
    edges = {}
    for site in sites:
        size = int(site.capacity * share)  # as bench/cdn_bounds.py splits the cache
        edges[site.rows[0][3]] = Edge(
            site=site,
            list=HourlyList(size) if pinned == "list" else None,
            fixed=set(site.most_read[:size]) if pinned == "fixed" else set(),
            lru=NginxCache(site.capacity - size),
        )
    seen = Seen(count=np.zeros(max(title for _, _, title, _ in rows) + 1))
    hits = 0
    one = bytearray(1)
    for ts, viewer, title, name in rows:
        edge = edges[name]
        one[0] = 0
        if edge.list is not None:
            edge.list.follow(seen.count, ts)
        if title in edge.fixed:
            one[0] = 1
        elif edge.list is not None and title in edge.list.listed:
            edge.list.pin.run([title], 0, 1, one, ts=[ts])
        else:
            admit = admits(rule, knob, edge, seen, viewer, title, ts)
            edge.lru.run([title], 0, 1, one, ts=[ts], admit=[admit])
        hits += one[0]
        edge.lookups += 1
        edge.last_seen[viewer] = ts
        seen.rated[viewer].add(title)
        seen.count[title] += 1
        seen.total += 1
    return hits


def admits(
    rule: str, knob: tuple, edge: Edge, seen: Seen, viewer: int, title: int, ts: float
) -> int:
    """Whether `rule` stores `title`, missed at `edge` for `viewer` at `ts` (1 or 0)."""
    if rule == "all":
        return 1
    if rule == "oracle":
        i = edge.lookups
        return int(edge.site.next_use[i] - i <= knob[0])
    share = 1000 * seen.count[title] / seen.total if seen.total else 0.0
    if rule == "popular":
        return int(share >= knob[0])
    window, threshold = knob
    active = sum(
        1
        for other, last in edge.last_seen.items()
        if other != viewer and ts - last <= window * 3600 and title not in seen.rated[other]
    )
    return int(active * share >= threshold)


def knobs(rule: str) -> list[tuple]:
    if rule == "all":
        return [()]
    if rule == "oracle":
        return [(k,) for k in WITHIN]
    if rule == "popular":
        return [(t,) for t in THRESHOLDS["popular"]]
    return list(itertools.product(WINDOWS_H, THRESHOLDS["viewers"]))


def main() -> None:
    rows = ratings()
    by_site: dict[str, list[Rating]] = defaultdict(list)
    for row in rows:
        by_site[row[3]].append(row)
    sites = [Site(r) for r in by_site.values()]
    best = sum(belady_hits(site.titles, site.capacity) for site in sites)
    n = len(rows)
    print(f"ml-100k, {n} sessions, cache {SIZE:.0%} of each edge's working set")
    print(f"Belady: object hit ratio {best / n:.4f}\n")
    print("| pinned zone | admission to the LRU zone | / Belady | pinned share, knobs |")
    print("| --- | --- | ---: | --- |")
    for pinned in ("fixed", "list"):
        label = "fixed set (hindsight)" if pinned == "fixed" else "list (hourly, daily fill)"
        whole = replay(sites, rows, pinned, 1.0, "all", ())
        print(f"| {label} | none: the whole cache pinned | {whole / best:.3f} | 1.0 |")
        for rule in ("all", "popular", "viewers", "oracle"):
            started = time.perf_counter()
            results = [
                (replay(sites, rows, pinned, share, rule, knob), share, knob)
                for share in SHARES
                for knob in knobs(rule)
            ]
            hits, share, knob = max(results, key=lambda r: r[0])
            print(
                f"| {label} | {rule} | {hits / best:.3f} | {share}, {knob} |"
                f" <!-- {time.perf_counter() - started:.0f} s -->",
                flush=True,
            )


if __name__ == "__main__":
    main()
