"""Hit ratio as a fraction of Belady on traces of different shape, for the policy the edges run.

Traces (each routed through the real steering code, one edge per site unless said otherwise):
- `synthetic`: the generator (Zipf 0.9, daily cycle, 5 releases a day), 4 sites x 3 edges;
- `releases`: the generator with 40 releases a day drawing 30% of sessions, 4 sites x 3 edges;
- `ml-100k`: MovieLens 100K's real rating timestamps (`BENCH_ML100K`, default
  /work/data/ml-100k): one session per rating at its own second, one 50 MB chunk per session,
  the viewer's region the stable hash of their zip code's first three digits onto 19 sites;
- `ml-latest-small`: ratings.csv of MovieLens latest-small (`BENCH_MLSMALL`), one session per
  rating, the viewer's region the stable hash of the user id onto 19 sites.

Policies: `edge` (what the edges run under `cdn.admission`'s lists: a pin zone and an LRU zone
with admission, both replayed as nginx's proxy_cache; with warming the pinned titles and the
launches are pre-fetched), `nginx` (stock proxy_cache: LRU, no admission), `s3fifo` (a
reference the edges cannot run) and Belady. Goal: `edge` >= 0.70 x Belady at 5% on
real-timestamp traces and >= 0.85 x on synthetic ones; warming never lower. `origin / lookup`
is what the hit ratio costs the origin: misses plus the fills' fetches, per lookup (1.0 is no
cache; `edge` and the references count their fills' fetches).

    .venv/bin/python bench/cdn_real_traces.py                       # every trace
    BENCH_PIN_SHARE=0 BENCH_ADMIT_SCORE=0 .venv/bin/python bench/cdn_real_traces.py
    BENCH_MIN_USES=1 .venv/bin/python bench/cdn_real_traces.py     # store at the first request
    BENCH_TRACES=ml-100k .venv/bin/python bench/cdn_real_traces.py   # one
    BENCH_MODE_EVERY=21600 .venv/bin/python bench/cdn_real_traces.py  # each edge picks pin/LRU
    BENCH_SIZES=5 BENCH_TRACES=ml-100k .venv/bin/python bench/cdn_real_traces.py  # 5% only
    BENCH_LEARNED_EVERY=604800 .venv/bin/python bench/cdn_real_traces.py  # learned pin ranking
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from cdn.admission import EdgePolicy  # noqa: E402
from cdn.routed_trace import route, synthetic_snapshot  # noqa: E402
from cdn.sim_warming import Warmer  # noqa: E402
from cdn.simulator import simulate  # noqa: E402
from cdn.steering import Steerer  # noqa: E402
from cdn.traces import (  # noqa: E402
    generate_workload,
    movie_key,
    movielens_plays,
    movielens_regions,
    site_by_hash,
    trace_from_plays,
)

CHUNK = 50_000_000
ML100K = os.environ.get("BENCH_ML100K", "/work/data/ml-100k")
MLSMALL = os.environ.get("BENCH_MLSMALL", "/work/data/ml-latest-small")
TRACES = os.environ.get("BENCH_TRACES", "synthetic,releases,ml-100k,ml-latest-small").split(",")
SIZES = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "1,5,10").split(","))
# The edge policy's knobs (cdn.admission.EdgePolicy), e.g. BENCH_PIN_SHARE=0 BENCH_ADMIT_SCORE=0
# (the LRU zone alone) or BENCH_MIN_USES=1.
POLICY = EdgePolicy(
    global_weight=float(os.environ.get("BENCH_GLOBAL_WEIGHT", str(EdgePolicy.global_weight))),
    pin_share=float(os.environ.get("BENCH_PIN_SHARE", str(EdgePolicy.pin_share))),
    admit_score=float(os.environ.get("BENCH_ADMIT_SCORE", str(EdgePolicy.admit_score))),
    min_uses=int(os.environ.get("BENCH_MIN_USES", str(EdgePolicy.min_uses))),
    mode_every=float(os.environ.get("BENCH_MODE_EVERY", str(EdgePolicy.mode_every))),
    touch_share=float(os.environ.get("BENCH_TOUCH_SHARE", str(EdgePolicy.touch_share))),
    touch_half_life_hours=float(
        os.environ.get("BENCH_TOUCH_HALF_LIFE", str(EdgePolicy.touch_half_life_hours))
    ),
    touch_keep=float(os.environ.get("BENCH_TOUCH_KEEP", str(EdgePolicy.touch_keep))),
    learned_every=float(os.environ.get("BENCH_LEARNED_EVERY", str(EdgePolicy.learned_every))),
    learned_horizon=float(os.environ.get("BENCH_LEARNED_HORIZON", str(EdgePolicy.learned_horizon))),
)


def build(name: str):
    """(trace, catalogue, regions, edges per site)."""
    if name == "synthetic":
        trace, catalog = generate_workload(requests=20_000, seed=1)
        return trace, catalog, 4, 3
    if name == "releases":
        trace, catalog = generate_workload(requests=20_000, new_releases_per_day=40, seed=11)
        return trace, catalog, 4, 3
    regions = [f"r{i}" for i in range(19)]
    if name == "ml-100k":
        by_user = movielens_regions(f"{ML100K}/u.user", regions)
        plays = movielens_plays(f"{ML100K}/u.data")
        region_of = by_user.__getitem__
    elif name == "ml-latest-small":
        plays = movielens_plays(f"{MLSMALL}/ratings.csv")
        pick = site_by_hash(regions)
        region_of = lambda user: pick("user:" + user)  # noqa: E731
    else:
        raise SystemExit(f"unknown trace {name!r}")
    trace = trace_from_plays(plays, region_of=region_of, nbytes=CHUNK, key_of=movie_key)
    return trace, None, 19, 1


def routed_trace(name: str):
    """(trace, catalogue, steerer, routed): the trace through the real steering code."""
    trace, catalog, regions, edges = build(name)
    steerer = Steerer(
        synthetic_snapshot(regions=regions, edges_per_site=edges), origin_url="origin"
    )
    return trace, catalog, steerer, route(trace, steerer, chunk_bytes=CHUNK)


def origin(r) -> float:
    """Chunks fetched from the origin per lookup: the misses and the fills' fetches (no cache
    at all is 1.0; a fill that fetches what nobody reads pushes it past that)."""
    return (r.requests - r.hits + r.warm.get("fetched", 0)) / r.requests


def main() -> None:
    print(
        "| trace | cache | policy | warming | object hit | byte hit | object / Belady "
        "| byte / Belady | origin / lookup |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in TRACES:
        started = time.perf_counter()
        trace, catalog, steerer, routed = routed_trace(name)
        warmer = Warmer(routed, steerer, chunk_bytes=CHUNK, catalog=catalog)
        for pct in SIZES:
            results = simulate(
                routed,
                steerer,
                fraction=pct / 100,
                policies=("edge", "nginx", "s3fifo", "belady"),
                warmer=warmer,
                edge_policy=POLICY,
            )
            best = next(r for r in results if r.policy == "belady")
            for r in results:
                if r.policy in ("nginx", "s3fifo") and r.warming:
                    continue
                print(
                    f"| {name} | {pct}% | {r.policy} | {'yes' if r.warming else 'no'} | "
                    f"{r.object_hit_ratio:.4f} | {r.byte_hit_ratio:.4f} | "
                    f"{r.object_hit_ratio / best.object_hit_ratio:.3f} | "
                    f"{r.byte_hit_ratio / best.byte_hit_ratio:.3f} | {origin(r):.3f} |",
                    flush=True,
                )
        print(f"<!-- {name}: {len(trace)} sessions, {time.perf_counter() - started:.0f} s -->")


if __name__ == "__main__":
    main()
