"""Hit ratio vs Belady at 1/5/10% cache sizes, with and without warming, and load balance.

Generates the synthetic workload (Zipf 0.9, 2,000 titles + BENCH_RELEASES a day launching at
08:00, daily cycle, 35% of sessions abandoned early) and its catalogue (sizes, release
schedule), routes every session through the real steering code over 4 sites x 3 edges, and
replays per-edge caches. Warming fills each edge once a day at 07:00 with the releases launching
that day (sizes and schedule from the catalogue, demand prior from earlier launches' plays).
Targets: S3-FIFO >= 0.80 x Belady at 5% and ahead of LRU at every size; load balance max/mean
per site <= 1.15.

    BENCH_SESSIONS=20000 BENCH_RELEASES=5 BENCH_SEED=1 .venv/bin/python bench/cdn_hit_ratio.py

Knobs for the measurements in docs/benchmarks.md: BENCH_FILL_HOUR (7), BENCH_WARM_SHARE (0.75),
BENCH_REFILL=1 (also re-fill catalogue titles by past plays), BENCH_MIN_PLAYS (2),
BENCH_PIN_SHARE (0: no reservation) and BENCH_PIN_HOURS (24), BENCH_EDGE_CAPACITY (sessions
per edge per hour; the default never triggers bounded load), BENCH_DIAG=1 (where every warmed
chunk and every release first read went).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from cdn.routed_trace import load_balance, route, synthetic_snapshot  # noqa: E402
from cdn.sim_warming import Warmer  # noqa: E402
from cdn.simulator import simulate  # noqa: E402
from cdn.steering import Steerer  # noqa: E402
from cdn.traces import generate_workload  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "20000"))
RELEASES = int(os.environ.get("BENCH_RELEASES", "5"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
FILL_HOUR = float(os.environ.get("BENCH_FILL_HOUR", "7"))
WARM_SHARE = float(os.environ.get("BENCH_WARM_SHARE", "0.75"))
REFILL = os.environ.get("BENCH_REFILL") == "1"
TOPUP_HOUR = float(os.environ["BENCH_TOPUP_HOUR"]) if os.environ.get("BENCH_TOPUP_HOUR") else None
MIN_PLAYS = float(os.environ.get("BENCH_MIN_PLAYS", "2"))
PIN_SHARE = float(os.environ.get("BENCH_PIN_SHARE", "0"))
PIN_HOURS = float(os.environ.get("BENCH_PIN_HOURS", "24"))
DIAG = os.environ.get("BENCH_DIAG") == "1"
# Sessions an edge takes per hour before bounded load spills (the default never spills).
CAPACITY = int(os.environ.get("BENCH_EDGE_CAPACITY", str(10**9)))
CHUNK = 50_000_000


def main() -> None:
    trace, catalog = generate_workload(requests=SESSIONS, new_releases_per_day=RELEASES, seed=SEED)
    snapshot = synthetic_snapshot(regions=4, edges_per_site=3, capacity=CAPACITY)
    steerer = Steerer(snapshot, origin_url="origin")
    routed = route(trace, steerer, chunk_bytes=CHUNK)
    warmer = Warmer(
        routed,
        steerer,
        chunk_bytes=CHUNK,
        catalog=catalog,
        fill_hour=FILL_HOUR,
        min_plays=MIN_PLAYS,
        refill=REFILL,
        topup_hour=TOPUP_HOUR,
    )
    balance = load_balance(routed)
    lookups = sum(len(s) for s in routed.streams.values())
    # Upper bound of what any fill can add: first reads of a chunk on an edge (compulsory
    # misses), and among them those of scheduled releases (the predictable ones).
    releases = {k: e.available_from for k, e in catalog.items() if e.available_from is not None}
    first = first_release = 0
    delays = []  # hours from launch to a release chunk's first read on an edge
    for stream in routed.streams.values():
        seen: set[tuple[str, int]] = set()
        for obj, _, ts in stream:
            if obj not in seen:
                seen.add(obj)
                first += 1
                if obj[0] in releases:
                    first_release += 1
                    delays.append((ts - releases[obj[0]]) / 3600)
    delays.sort()
    bound = first_release / lookups
    print(f"{len(trace)} sessions, {lookups} chunk lookups")
    print(
        f"compulsory misses {first / lookups:.4f} of lookups, "
        f"of which on scheduled releases {bound:.4f}"
    )
    print(
        f"load balance max/mean sessions per edge: worst site {balance['worst_site']:.3f}, "
        f"mean over sites {balance['mean_site']:.3f}"
    )
    print(
        "| cache | policy | warming | object hit | byte hit | object / Belady | warming gain "
        "| share of bound |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    diag = []
    for pct in (1, 5, 10):
        results = simulate(
            routed,
            steerer,
            fraction=pct / 100,
            warm_share=WARM_SHARE,
            warmer=warmer,
            pin_share=PIN_SHARE,
            pin_hours=PIN_HOURS,
            diagnostics=DIAG,
        )
        best = next(r for r in results if r.policy == "belady").object_hit_ratio
        cold = {r.policy: r for r in results if not r.warming}
        for r in results:
            gain = share = ""
            if r.warming:
                base = cold[r.policy]
                gain = (
                    f"{100 * (r.object_hit_ratio - base.object_hit_ratio):+.2f} / "
                    f"{100 * (r.byte_hit_ratio - base.byte_hit_ratio):+.2f} pt"
                )
                share = f"{(r.object_hit_ratio - base.object_hit_ratio) / bound:.2f}"
                diag.append((pct, r))
            print(
                f"| {pct}% | {r.policy} | {'yes' if r.warming else 'no'} | "
                f"{r.object_hit_ratio:.4f} | {r.byte_hit_ratio:.4f} | "
                f"{r.object_hit_ratio / best:.3f} | {gain} | {share} |"
            )
    if DIAG:
        print(
            "\nrelease chunks' first read on an edge, hours after launch: "
            f"p25 {delays[len(delays) // 4]:.1f}, median {delays[len(delays) // 2]:.1f}, "
            f"p75 {delays[3 * len(delays) // 4]:.1f}"
        )
        print("warmed chunks: fetched, read while cached, read after eviction, never read;")
        print("release first reads: hits / all, and why the misses missed")
        for pct, r in diag:
            w = r.warm
            misses = {k[5:]: v for k, v in sorted(w.items()) if k.startswith("miss_")}
            print(
                f"{pct:>3}% {r.policy:7s} fetched {w.get('fetched', 0)}, "
                f"read {w.get('read_cached', 0)}, late {w.get('read_after_eviction', 0)}, "
                f"unread {w.get('unread_evicted', 0) + w.get('unread_kept', 0)}"
                + (f", pinned {w['pinned']}" if w.get("pinned") else "")
                + f"; release first reads {w.get('release_first_hits', 0)}"
                f"/{w.get('release_first_reads', 0)} {misses}"
            )


if __name__ == "__main__":
    main()
