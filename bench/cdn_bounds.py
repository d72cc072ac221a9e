"""How far could a policy the edges can run go on each trace? Bounds with hindsight, beside Belady.

The `edge` policy of `bench/cdn_real_traces.py` is a popularity list that nginx obeys: a
pinned zone filled by warming and an LRU zone behind an admission list. This bench replays
the same routed traces (one edge per site for MovieLens, 4 sites x 3 edges for the generator)
with knowledge no deployed policy has, per edge, at `capacity` = a fraction of its working set:

- `fixed set`: the `capacity` chunks read most often at the edge over the whole trace, stored
  before its first lookup and never evicted: every lookup of them hits. No list fixed for the
  whole trace, pre-filled, hits more; a list that moves has to predict demand to beat it.
- `one list for all`: the same, but every edge holds the top of one ranking, the chunks read
  most over the whole trace at all edges together: the best any popularity list shared by every
  edge (global counts, however weighted or decayed) can do without knowing each site's taste.
- `oracle admission`: stock nginx LRU storing a chunk only when its next lookup at the edge
  comes within K lookups (the best K of a sweep): what knowing exactly which chunks are read
  again soon is worth to an admission list.
- `fixed set + oracle admission`: a share of the cache holds the fixed set, the rest is the
  oracle-admission LRU (the best share and K of a sweep; share 0 is the oracle LRU alone).

Each is printed as a fraction of Belady (which stores nothing ahead of a request) beside the
share of Belady's hits that are on the fixed set. These bound the kind of policy, not one
policy: a deployed list cannot know the fixed set or the next lookups, only estimate them.

    .venv/bin/python bench/cdn_bounds.py      # ml-100k, synthetic, releases
    BENCH_TRACES=ml-100k BENCH_SIZES=5 .venv/bin/python bench/cdn_bounds.py
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from bench.cdn_real_traces import routed_trace  # noqa: E402
from cdn.caches import Belady, NginxCache  # noqa: E402
from cdn.routed_trace import EdgeStream  # noqa: E402

TRACES = os.environ.get("BENCH_TRACES", "ml-100k,synthetic,releases").split(",")
SIZES = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "1,5,10").split(","))
WITHIN = (25, 50, 100, 200, 400, 800, 1600, 3200, 6400)  # K, in lookups at the edge
SHARES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)  # of the cache, for the fixed set


def belady(es: EdgeStream, capacity: int) -> bytearray:
    hits = bytearray(len(es.objs))
    Belady(capacity, es.next_uses()).run(None, 0, len(es.objs), hits)
    return hits


def most_read(es: EdgeStream) -> list[int]:
    """The edge's chunks, the most read first (the fixed set of any size is a prefix)."""
    return [o for o, _ in Counter(es.objs).most_common()]


def oracle_lru(es: EdgeStream, capacity: int, within: int, skip: set[int]) -> int:
    """Hits of an LRU zone of `capacity` that stores a chunk only when it is read again within
    `within` lookups; lookups of `skip` (the fixed set, served elsewhere) never reach it."""
    if capacity <= 0:
        return 0
    nxt = es.next_uses()
    idx = [i for i, o in enumerate(es.objs) if o not in skip]
    objs = [es.objs[i] for i in idx]
    admit = [1 if nxt[i] - i <= within else 0 for i in idx]
    hits = bytearray(len(idx))
    NginxCache(capacity).run(objs, 0, len(idx), hits, ts=[0.0] * len(idx), admit=admit)
    return hits.count(1)


def bounds(edges: dict[str, EdgeStream], fraction: float) -> dict[str, float]:
    lookups = sum(len(es.objs) for es in edges.values())
    best_hits = on_fixed = fixed_hits = shared_hits = 0
    everywhere = [o for o, _ in Counter(o for es in edges.values() for o in es.objs).most_common()]
    oracle = dict.fromkeys(WITHIN, 0)
    hybrid = {(s, k): 0 for s in SHARES for k in WITHIN}
    for es in edges.values():
        if not es.objs:
            continue
        cap = max(1, int(es.working() * fraction))
        hits = belady(es, cap)
        best_hits += hits.count(1)
        ranked = most_read(es)
        chosen = set(ranked[:cap])
        on_fixed += sum(1 for i, o in enumerate(es.objs) if hits[i] and o in chosen)
        fixed_hits += sum(1 for o in es.objs if o in chosen)
        # The top of the shared ranking among the chunks this edge ever reads: a chunk it never
        # reads would only waste the slot, and a list sent to it need not name those.
        mine = set(es.objs)
        shared = set([o for o in everywhere if o in mine][:cap])
        shared_hits += sum(1 for o in es.objs if o in shared)
        for k in WITHIN:
            oracle[k] += oracle_lru(es, cap, k, set())
        for share in SHARES:
            pinned = set(ranked[: int(cap * share)])
            served = sum(1 for o in es.objs if o in pinned)
            for k in WITHIN:
                hybrid[share, k] += served + oracle_lru(es, cap - len(pinned), k, pinned)
    k_best = max(oracle, key=lambda k: oracle[k])
    (s_best, hk_best) = max(hybrid, key=lambda sk: hybrid[sk])
    return {
        "belady": best_hits / lookups,
        "fixed": fixed_hits / best_hits,
        "on_fixed": on_fixed / best_hits,
        "shared": shared_hits / best_hits,
        "oracle": oracle[k_best] / best_hits,
        "oracle_k": k_best,
        "hybrid": hybrid[s_best, hk_best] / best_hits,
        "hybrid_share": s_best,
        "hybrid_k": hk_best,
    }


def main() -> None:
    print(
        "| trace | cache | Belady hit | fixed set, filled | Belady's hits on it "
        "| one list for all | oracle admission (K) | fixed set + oracle admission (share, K) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in TRACES:
        started = time.perf_counter()
        trace, _, _, routed = routed_trace(name)
        for pct in SIZES:
            b = bounds(routed.edges, pct / 100)
            print(
                f"| {name} | {pct}% | {b['belady']:.4f} | {b['fixed']:.3f} | {b['on_fixed']:.3f} "
                f"| {b['shared']:.3f} | {b['oracle']:.3f} ({b['oracle_k']}) "
                f"| {b['hybrid']:.3f} ({b['hybrid_share']}, {b['hybrid_k']}) |",
                flush=True,
            )
        print(f"<!-- {name}: {len(trace)} sessions, {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
