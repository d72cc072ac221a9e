"""Would keeping an edge's hottest chunks at the head of nginx's queue lift its LRU zone?

On the generator's traces the edges run their LRU zone (the per-edge mode picks it there): stock
nginx `proxy_cache` with `min_uses` 2, 0.842 x Belady at 5% on `synthetic` and 0.736 on
`releases`, where S3-FIFO, which nginx cannot run, reaches 0.856 and 0.749. What S3-FIFO has
over LRU is frequency: a chunk read often is kept when a burst of one-off reads passes through.
nginx cannot be told to keep a file, but every lookup moves the file's node to the head of the
zone's queue. So a warmer could *touch* the edge's hottest chunks every few minutes: a request
through a location that shares the zone and its cache key, whose misses connect nowhere and are
answered 204 at once, and which never stores (`proxy_no_cache`). So a touch of a file the zone
holds is a hit that moves it to the head, and a touch of one it does not hold reaches no origin
and stores nothing (it still counts one use of the node, as any lookup does). The edge's side is
`cdn_nginx_config --touch-allow`; `cdn_edge_lists` keeps each edge's read counts and touch list
and `cdn.tasks.touch_edges` sends the touches (`CDN_EDGE_TOUCH_PERCENT`, in the per-edge mode;
measured there by `bench/cdn_real_traces.py` with BENCH_TOUCH_SHARE). This bench asked first
whether it would pay, on one LRU zone, with nginx's queue replayed by `cdn.caches.NginxCache`.

Per edge of the bench's routed traces (`bench/cdn_real_traces.py`'s, 5% of each edge's working
set unless BENCH_SIZES says otherwise): Belady; the LRU zone alone (`min_uses` 2); and the same
zone touched every BENCH_TOUCH_EVERY seconds (900) with the BENCH_TOUCH_SHARE (0.8) x capacity
chunks that have the highest read count at the edge so far, each read's weight halving every
BENCH_TOUCH_HALF_LIFE hours (6), coldest first so the hottest ends at the head. Deterministic;
about 15 seconds.

    .venv/bin/python bench/cdn_keep_hot.py
    BENCH_TRACES=synthetic,releases,ml-100k BENCH_SIZES=1,5,10 \
        .venv/bin/python bench/cdn_keep_hot.py
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

from bench.cdn_real_traces import routed_trace  # noqa: E402
from cdn.caches import Belady, NginxCache  # noqa: E402
from cdn.keep_hot import Heat, touch  # noqa: E402

TRACES = os.environ.get("BENCH_TRACES", "synthetic,releases").split(",")
SIZES = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "5").split(","))
EVERY = float(os.environ.get("BENCH_TOUCH_EVERY", "900"))
SHARE = float(os.environ.get("BENCH_TOUCH_SHARE", "0.8"))
HALF_LIFE_H = float(os.environ.get("BENCH_TOUCH_HALF_LIFE", "6"))
MIN_USES = 2


class Touched:
    """An LRU zone and the touches a warmer would send it (`cdn.keep_hot`)."""

    def __init__(self, capacity: int, *, every: float, share: float, half_life_h: float) -> None:
        self.zone = NginxCache(capacity, min_uses=MIN_USES)
        self.every = every
        self.size = max(1, int(capacity * share))
        self.heat = Heat(half_life_h * 3600)  # every chunk read at the edge, no bound
        self.next_touch: float | None = None
        self.touches = self.touch_hits = 0

    def touch(self, now: float) -> None:
        keys = self.heat.touch_list(self.size)
        self.touches += len(keys)
        self.touch_hits += touch(self.zone, keys, at=now)

    def replay(self, objs: list[int], ts: list[float], hits: bytearray) -> None:
        for i, obj in enumerate(objs):
            now = ts[i]
            if self.next_touch is None:
                self.next_touch = now + self.every
            elif self.every and now >= self.next_touch:
                self.touch(now)
                self.next_touch = now + self.every
            self.zone.run(objs, i, i + 1, hits, ts=ts)
            self.heat.add((obj,), (now,))


def measure(routed, pct: float) -> dict[str, float]:
    totals = dict.fromkeys(("lookups", "belady", "lru", "touched", "touches", "touch_hits"), 0)
    for es in routed.edges.values():
        n = len(es.objs)
        if not n:
            continue
        capacity = max(1, int(es.working() * pct / 100))
        runs = [bytearray(n) for _ in range(3)]
        Belady(capacity, es.next_uses()).run(None, 0, n, runs[0])
        Touched(capacity, every=0, share=SHARE, half_life_h=HALF_LIFE_H).replay(
            es.objs, es.ts, runs[1]
        )
        touched = Touched(capacity, every=EVERY, share=SHARE, half_life_h=HALF_LIFE_H)
        touched.replay(es.objs, es.ts, runs[2])
        totals["lookups"] += n
        totals["belady"] += runs[0].count(1)
        totals["lru"] += runs[1].count(1)
        totals["touched"] += runs[2].count(1)
        totals["touches"] += touched.touches
        totals["touch_hits"] += touched.touch_hits
    return totals


def main() -> None:
    print(
        f"touches every {EVERY:.0f} s of the {SHARE:g} x capacity hottest chunks "
        f"(half-life {HALF_LIFE_H:g} h); LRU zone min_uses {MIN_USES}\n"
    )
    print(
        "| trace | cache | Belady hit | LRU zone / Belady | touched / Belady "
        "| touches per lookup | touches that hit |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in TRACES:
        started = time.perf_counter()
        *_, routed = routed_trace(name)
        for pct in SIZES:
            t = measure(routed, pct)
            n, best = t["lookups"], t["belady"]
            print(
                f"| {name} | {pct}% | {best / n:.4f} | {t['lru'] / best:.3f} "
                f"| {t['touched'] / best:.3f} | {t['touches'] / n:.2f} "
                f"| {t['touch_hits'] / max(1, t['touches']):.2f} |",
                flush=True,
            )
        print(f"<!-- {name}: {time.perf_counter() - started:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
