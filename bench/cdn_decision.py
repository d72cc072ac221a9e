"""In-process steering decision latency: 100k coverage-zone prefixes, 50 sites x 8 edges.

Builds the snapshot in memory (the same Snapshot/Steerer the server uses, no database), then
times single decisions for clients spread over the coverage zones (IPv4 and IPv6) plus a share
that falls through to the defaults. Target: p99 <= 100 us.

    .venv/bin/python bench/cdn_decision.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from cdn.snapshot import EdgeInfo, SiteInfo, Snapshot  # noqa: E402
from cdn.steering import Steerer  # noqa: E402

SITES, EDGES, PREFIXES = 50, 8, int(os.environ.get("BENCH_PREFIXES", "100000"))
DECISIONS = int(os.environ.get("BENCH_DECISIONS", "50000"))


def build() -> tuple[Snapshot, list[str]]:
    rng = random.Random(7)
    sites = []
    for s in range(SITES):
        site = SiteInfo(
            id=s + 1,
            name=f"s{s}",
            country="US",
            latitude=rng.uniform(-60, 60),
            longitude=rng.uniform(-180, 180),
        )
        site.edges = [
            EdgeInfo(
                id=s * EDGES + e + 1,
                name=f"s{s}-e{e}",
                site_id=s + 1,
                base_url=f"https://s{s}-e{e}.cdn.example/",
                capacity=10_000,
            )
            for e in range(EDGES)
        ]
        sites.append(site)
    zones, clients = [], []
    for i in range(PREFIXES):
        site_id = rng.randrange(SITES) + 1
        if i % 10 == 0:  # a tenth IPv6 /48s
            a, b = rng.randrange(1 << 16), rng.randrange(1 << 16)
            zones.append((f"2001:{a:x}:{b:x}::/48", site_id))
            clients.append(f"2001:{a:x}:{b:x}::{rng.randrange(1, 1 << 16):x}")
        else:
            plen = rng.choice((16, 20, 22, 24, 24, 24))
            net = rng.randrange(1 << 32) & (((1 << plen) - 1) << (32 - plen))
            zones.append(
                (f"{net >> 24}.{(net >> 16) & 255}.{(net >> 8) & 255}.{net & 255}/{plen}", site_id)
            )
            host = net | rng.randrange(1, 1 << (32 - plen))
            clients.append(f"{host >> 24}.{(host >> 16) & 255}.{(host >> 8) & 255}.{host & 255}")
    snap = Snapshot(sites=sites, zones=zones, global_default=1)
    rng.shuffle(clients)
    clients = clients[:DECISIONS] + [
        f"198.18.{i % 256}.{i % 200 + 1}" for i in range(DECISIONS // 20)
    ]
    rng.shuffle(clients)
    return snap, clients


def main() -> None:
    t0 = time.perf_counter()
    snap, clients = build()
    built = time.perf_counter() - t0
    steerer = Steerer(snap, origin_url="https://origin.example/", bounded_load=1.25)
    keys = [f"hls/{i:08x}/v1/" for i in range(5000)]
    for ip in clients[:2000]:  # warm-up
        steerer.steer(client_ip=ip, content_key=keys[0])
    wall, cpu = [], []
    for i, ip in enumerate(clients):
        key = keys[i % len(keys)]
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        steerer.steer(client_ip=ip, content_key=key)
        w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
    print(
        f"snapshot: {snap.coverage.size} prefixes, {SITES} sites x {EDGES} edges, "
        f"built in {built:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"decisions: {len(wall)}")
    for label, samples in (("wall", wall), ("cpu (thread time)", cpu)):
        samples.sort()
        p = lambda q, s=samples: s[min(len(s) - 1, int(q * len(s)))] / 1000  # noqa: E731
        print(
            f"{label:18s} p50 {p(0.50):7.1f} us  p90 {p(0.90):7.1f} us  p99 {p(0.99):7.1f} us  "
            f"mean {statistics.fmean(samples) / 1000:.1f} us"
        )


if __name__ == "__main__":
    main()
