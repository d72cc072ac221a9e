"""Hit ratio vs Belady at 1/5/10% cache sizes, with and without warming, and load balance.

Generates the synthetic workload (Zipf 0.9, 2,000 titles + BENCH_RELEASES a day launching at
08:00, daily cycle, 35% of sessions abandoned early) and its catalogue (sizes, release
schedule), routes every session through the real steering code over 4 sites x 3 edges, and
replays per-edge caches. Warming fills each edge once a day at 07:00 from the plays recorded
before then and the release schedule. Targets: S3-FIFO >= 0.80 x Belady at 5% and ahead of LRU
at every size; load balance max/mean per site <= 1.15.

    BENCH_SESSIONS=20000 BENCH_RELEASES=5 BENCH_SEED=1 .venv/bin/python bench/cdn_hit_ratio.py

BENCH_FILL_HOUR (7) and BENCH_WARM_SHARE (1.0) change the fill.
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

from cdn.simulator import (  # noqa: E402
    Warmer,
    generate_workload,
    load_balance,
    route,
    simulate,
    synthetic_snapshot,
)
from cdn.steering import Steerer  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "20000"))
RELEASES = int(os.environ.get("BENCH_RELEASES", "5"))
SEED = int(os.environ.get("BENCH_SEED", "1"))
FILL_HOUR = float(os.environ.get("BENCH_FILL_HOUR", "7"))
WARM_SHARE = float(os.environ.get("BENCH_WARM_SHARE", "1.0"))
CHUNK = 50_000_000


def main() -> None:
    trace, catalog = generate_workload(requests=SESSIONS, new_releases_per_day=RELEASES, seed=SEED)
    steerer = Steerer(synthetic_snapshot(regions=4, edges_per_site=3), origin_url="origin")
    routed = route(trace, steerer, chunk_bytes=CHUNK)
    warmer = Warmer(routed, steerer, chunk_bytes=CHUNK, catalog=catalog, fill_hour=FILL_HOUR)
    balance = load_balance(routed)
    lookups = sum(len(s) for s in routed.streams.values())
    # Upper bound of what any fill can add: first reads of a chunk on an edge (compulsory
    # misses), and among them those of scheduled releases (the predictable ones).
    releases = {k for k, e in catalog.items() if e.available_from is not None}
    first = first_release = 0
    for stream in routed.streams.values():
        seen: set[tuple[str, int]] = set()
        for obj, _, _ in stream:
            if obj not in seen:
                seen.add(obj)
                first += 1
                first_release += obj[0] in releases
    print(f"{len(trace)} sessions, {lookups} chunk lookups")
    print(
        f"compulsory misses {first / lookups:.4f} of lookups, "
        f"of which on scheduled releases {first_release / lookups:.4f}"
    )
    print(
        f"load balance max/mean sessions per edge: worst site {balance['worst_site']:.3f}, "
        f"mean over sites {balance['mean_site']:.3f}"
    )
    print("| cache | policy | warming | object hit | byte hit | object / Belady | warming gain |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for pct in (1, 5, 10):
        results = simulate(
            routed, steerer, fraction=pct / 100, warm_share=WARM_SHARE, warmer=warmer
        )
        best = next(r for r in results if r.policy == "belady").object_hit_ratio
        cold = {r.policy: r for r in results if not r.warming}
        for r in results:
            gain = ""
            if r.warming:
                base = cold[r.policy]
                gain = (
                    f"{100 * (r.object_hit_ratio - base.object_hit_ratio):+.2f} / "
                    f"{100 * (r.byte_hit_ratio - base.byte_hit_ratio):+.2f} pt"
                )
            print(
                f"| {pct}% | {r.policy} | {'yes' if r.warming else 'no'} | "
                f"{r.object_hit_ratio:.4f} | {r.byte_hit_ratio:.4f} | "
                f"{r.object_hit_ratio / best:.3f} | {gain} |"
            )


if __name__ == "__main__":
    main()
