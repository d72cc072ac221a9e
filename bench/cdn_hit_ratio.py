"""Hit ratio vs Belady at 1/5/10% cache sizes, with and without warming, and load balance.

Generates the synthetic trace (Zipf 0.9, 2,000 titles + BENCH_RELEASES a day, daily cycle, 35% of
sessions abandoned early), routes every session through the real steering code over 4 sites x
3 edges, and replays per-edge caches. Targets: S3-FIFO >= 0.80 x Belady at 5% and ahead of LRU
at every size; load balance max/mean per site <= 1.15.

    BENCH_SESSIONS=20000 BENCH_RELEASES=5 BENCH_SEED=1 .venv/bin/python bench/cdn_hit_ratio.py
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
    generate_trace,
    load_balance,
    route,
    simulate,
    synthetic_snapshot,
)
from cdn.steering import Steerer  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "20000"))
RELEASES = int(os.environ.get("BENCH_RELEASES", "5"))
SEED = int(os.environ.get("BENCH_SEED", "1"))


def main() -> None:
    trace = generate_trace(requests=SESSIONS, new_releases_per_day=RELEASES, seed=SEED)
    steerer = Steerer(synthetic_snapshot(regions=4, edges_per_site=3), origin_url="origin")
    routed = route(trace, steerer, chunk_bytes=50_000_000)
    balance = load_balance(routed)
    lookups = sum(len(s) for s in routed.streams.values())
    print(f"{len(trace)} sessions, {lookups} chunk lookups")
    print(
        f"load balance max/mean sessions per edge: worst site {balance['worst_site']:.3f}, "
        f"mean over sites {balance['mean_site']:.3f}"
    )
    print("| cache | policy | warming | object hit | byte hit | object / Belady |")
    print("| ---: | --- | --- | ---: | ---: | ---: |")
    for pct in (1, 5, 10):
        results = simulate(routed, steerer, fraction=pct / 100)
        best = next(r for r in results if r.policy == "belady").object_hit_ratio
        for r in results:
            print(
                f"| {pct}% | {r.policy} | {'yes' if r.warming else 'no'} | "
                f"{r.object_hit_ratio:.4f} | {r.byte_hit_ratio:.4f} | "
                f"{r.object_hit_ratio / best:.3f} |"
            )


if __name__ == "__main__":
    main()
