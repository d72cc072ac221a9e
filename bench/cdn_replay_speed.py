"""Replay speed: the simulator of a baseline commit against this tree's, in the same run.

Generates (or reads) a trace, then times `route` + `simulate` at 1/5/10% (LRU and S3-FIFO with
and without warming, Belady: what `cdn_simulate` runs) twice: with `cdn/simulator.py` as it was
at BENCH_BASELINE_REF (loaded from git into a throwaway module; it runs on this tree's steering
and warming code) and with the current one (since the split, `cdn.routed_trace.route`,
`cdn.sim_warming.Warmer` and `cdn.simulator.simulate`). Reports CPU and wall seconds and checks
that both give the same hit counts. Target: the current replay >= 10x faster, and 100k sessions
x 3 sizes under 20 s.

BENCH_TRACE names a trace file, or one of `bench/cdn_real_traces.py`'s real traces (`ml-100k`,
`ml-latest-small`: MovieLens ratings at their real timestamps, one chunk per rating, 19 sites
with one edge each: the shape of the replay issue 21 timed at 3 min 20 s).

    BENCH_SESSIONS=100000 .venv/bin/python bench/cdn_replay_speed.py
    BENCH_TRACE=ml-100k .venv/bin/python bench/cdn_replay_speed.py   # the issue's own trace
    BENCH_TRACE=/tmp/trace.csv BENCH_REGIONS=19 BENCH_EDGES=1 \\
        .venv/bin/python bench/cdn_replay_speed.py
    BENCH_SKIP_BASELINE=1 ...   # only the current code
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.dev")

import django  # noqa: E402

django.setup()

from cdn import routed_trace, sim_warming, simulator  # noqa: E402
from cdn.steering import Steerer  # noqa: E402
from cdn.traces import generate_trace, read_trace  # noqa: E402

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "100000"))
TRACE = os.environ.get("BENCH_TRACE", "")
REGIONS = int(os.environ.get("BENCH_REGIONS", "4"))
EDGES = int(os.environ.get("BENCH_EDGES", "3"))
BASELINE_REF = os.environ.get("BENCH_BASELINE_REF", "8e55062")
SKIP_BASELINE = os.environ.get("BENCH_SKIP_BASELINE") == "1"
CHUNK = 50_000_000
SIZES = (1, 5, 10)


def baseline_module():
    source = subprocess.run(
        ["git", "show", f"{BASELINE_REF}:cdn/simulator.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "cdn_simulator_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("cdn_simulator_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


Counts = list[tuple[int, str, bool, int, int]]


def replay(module, trace, regions: int, edges: int) -> tuple[float, float, Counts]:
    cpu, wall = time.process_time(), time.perf_counter()
    steerer = Steerer(
        module.synthetic_snapshot(regions=regions, edges_per_site=edges), origin_url="origin"
    )
    routed = module.route(trace, steerer, chunk_bytes=CHUNK)
    warmer = module.Warmer(routed, steerer, chunk_bytes=CHUNK)
    counts = []
    for pct in SIZES:
        for r in module.simulate(routed, steerer, fraction=pct / 100, warmer=warmer):
            counts.append((pct, r.policy, r.warming, r.hits, r.bytes_hit))
    return time.process_time() - cpu, time.perf_counter() - wall, counts


def load_trace():
    """(trace, sites, edges per site)."""
    if TRACE in ("ml-100k", "ml-latest-small"):
        from bench.cdn_real_traces import build

        trace, _catalog, regions, edges = build(TRACE)
        return trace, regions, edges
    if TRACE:
        return read_trace(TRACE), REGIONS, EDGES
    return generate_trace(requests=SESSIONS, regions=REGIONS), REGIONS, EDGES


def main() -> None:
    trace, regions, edges = load_trace()
    print(f"{len(trace)} sessions, {regions} sites x {edges} edges, sizes {SIZES} %")
    print("| simulator | CPU s | wall s |")
    print("| --- | ---: | ---: |")
    base = None
    if not SKIP_BASELINE:
        old = baseline_module()
        old_trace = [old.Request(r.ts, r.client, r.key, r.nbytes) for r in trace]
        base = replay(old, old_trace, regions, edges)
        print(f"| baseline ({BASELINE_REF}) | {base[0]:.1f} | {base[1]:.1f} |")
    current = SimpleNamespace(
        synthetic_snapshot=routed_trace.synthetic_snapshot,
        route=routed_trace.route,
        Warmer=sim_warming.Warmer,
        simulate=simulator.simulate,
    )
    now = replay(current, trace, regions, edges)
    print(f"| current | {now[0]:.1f} | {now[1]:.1f} |")
    if base is not None:
        print(f"\nspeed-up: {base[0] / now[0]:.1f}x CPU, {base[1] / now[1]:.1f}x wall")
        same = base[2] == now[2]
        print(f"same hit and byte-hit counts at every size and policy: {same}")
        if not same:
            for a, b in zip(base[2], now[2], strict=True):
                if a != b:
                    print(f"  baseline {a} != current {b}")


if __name__ == "__main__":
    main()
