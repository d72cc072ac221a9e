"""Is the gap to Belady a cold start? The edge policy and Belady measured after a warm-up.

`bench/cdn_real_traces.py` counts every lookup of a trace, from the first, when the edge
policy knows nothing yet and Belady already knows everything. A deployed edge has history, so
part of the gap could be the trace's own beginning. This bench replays the same routed traces
(the edge policy in the per-edge mode, `EdgePolicy(mode_every=21600)`, cold and with warming;
Belady) over the whole trace, as the other bench does, and counts only the lookups from a
warm-up on: every cache keeps what it stored during the warm-up, and both sides are measured
on the same lookups. If the ratio rose with the warm-up, the cold start would be the gap.

    .venv/bin/python bench/cdn_steady_state.py                 # ml-100k at 5%
    BENCH_TRACES=ml-100k,releases BENCH_SIZES=5,10 .venv/bin/python bench/cdn_steady_state.py

Warm-ups: 0, 1, 7, 14, 30, 60 and 90 days of a trace over a month long; 0, 12, 24, 36 and 48
hours of a shorter one (the generator's three days).
"""

from __future__ import annotations

import os
import sys
from bisect import bisect_left
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from bench.cdn_real_traces import CHUNK, routed_trace  # noqa: E402
from cdn.admission import EdgePolicy  # noqa: E402
from cdn.caches import Belady  # noqa: E402
from cdn.edge_replay import replay_edge_policy  # noqa: E402
from cdn.routed_trace import Routed  # noqa: E402
from cdn.sim_warming import Warmer  # noqa: E402

TRACES = os.environ.get("BENCH_TRACES", "ml-100k").split(",")
SIZES = tuple(int(x) for x in os.environ.get("BENCH_SIZES", "5").split(","))
POLICY = EdgePolicy(mode_every=21600)
DAY = 86_400.0


def warm_ups(days: float) -> tuple[float, ...]:
    """Warm-ups in days for a trace `days` long."""
    return (0, 1, 7, 14, 30, 60, 90) if days > 30 else (0, 0.5, 1, 1.5, 2)


def measure(
    routed: Routed, warmer: Warmer, pct: float, cuts: tuple[float, ...]
) -> dict[float, list[int]]:
    """Per warm-up in days: [lookups counted, Belady's hits, the edge policy's cold and warm
    hits], every replay over the whole trace, counted from the warm-up's end."""
    streams = {edge: es for edge, es in routed.edges.items() if es.objs}
    first = min(es.ts[0] for es in streams.values())
    totals = {w: [0, 0, 0, 0] for w in cuts}
    for edge, es in streams.items():
        n = len(es.objs)
        capacity = max(1, int(es.working() * pct / 100))
        site = routed.site_of_edge.get(edge)
        runs = [bytearray(n), bytearray(n), bytearray(n)]
        Belady(capacity, es.next_uses()).run(None, 0, n, runs[0])
        for hits, fills in ((runs[1], None), (runs[2], warmer)):
            replay_edge_policy(
                routed,
                es,
                hits,
                capacity=capacity,
                policy=POLICY,
                warmer=fills,
                site=site,
                edge=edge,
                stats={},
            )
        for w in cuts:
            start = bisect_left(es.ts, first + w * DAY)
            row = totals[w]
            row[0] += n - start
            for k, hits in enumerate(runs, 1):
                row[k] += hits.count(1, start)
    return totals


def main() -> None:
    print("| trace | cache | warm-up (days) | lookups | Belady hit | edge cold | edge warm |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in TRACES:
        _trace, catalog, steerer, routed = routed_trace(name)
        warmer = Warmer(routed, steerer, chunk_bytes=CHUNK, catalog=catalog)
        times = [t for es in routed.edges.values() for t in es.ts[:1] + es.ts[-1:]]
        cuts = warm_ups((max(times) - min(times)) / DAY)
        for pct in SIZES:
            totals = measure(routed, warmer, pct, cuts)
            for w in cuts:
                lookups, best, cold, warm = totals[w]
                if not best:
                    continue
                print(
                    f"| {name} | {pct}% | {w:g} | {lookups} | {best / lookups:.4f} "
                    f"| {cold / best:.3f} | {warm / best:.3f} |"
                )


if __name__ == "__main__":
    main()
