"""Run every benchmark under bench/ in turn (`make bench`). Each prints its own table.

A benchmark that needs something this machine lacks (PostgreSQL and Redis, nginx, a
MovieLens copy) is skipped with a line saying what; `bench/http/` runs apart
(`make bench-http`), as do the chaos drills (`make chaos`). The MovieLens benches read
BENCH_ML100K and BENCH_MLSMALL (directories holding `u.data` and `ratings.csv`; see
docs/benchmarks.md for where the copies come from).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DEFAULT_ML100K = "/work/data/ml-100k"
DEFAULT_MLSMALL = "/work/data/ml-latest-small"


@dataclass(frozen=True)
class Run:
    script: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    skipped: str = ""  # why it cannot run here; empty: it runs


def plan(environ: Mapping[str, str], exists: Callable[[str], bool]) -> list[Run]:
    """What `make bench` runs in this environment, in order (`exists`: is this file there)."""
    postgres = environ.get("DATABASE_URL", "").startswith("postgres")
    redis = bool(environ.get("REDIS_URL"))
    nginx = exists("nginx")
    ml100k = environ.get("BENCH_ML100K", DEFAULT_ML100K)
    mlsmall = environ.get("BENCH_MLSMALL", DEFAULT_MLSMALL)
    have_100k = exists(f"{ml100k}/u.data") and exists(f"{ml100k}/u.user")
    have_small = exists(f"{mlsmall}/ratings.csv")
    real = [name for name, ok in (("ml-100k", have_100k), ("ml-latest-small", have_small)) if ok]
    traces = {"BENCH_TRACES": ",".join(["synthetic", "releases", *real])}
    no_pg = "needs DATABASE_URL=postgres://..."
    no_nginx = "needs nginx (make system-deps)"
    no_ml = f"needs MovieLens 100K in BENCH_ML100K ({ml100k}: no u.data and u.user)"
    return [
        Run("db_connections.py", skipped="" if postgres else no_pg),
        Run("recs_offline.py"),
        Run("recs_train_speed.py", (ml100k,), skipped="" if have_100k else no_ml),
        # It times the rows API on a database the demo was seeded into, which this run does
        # not make: run it by hand as its docstring says.
        Run("recs_serving.py", skipped="needs DATABASE_URL of a seeded demo; run it by hand"),
        # cdn
        Run("cdn_decision.py"),
        Run("cdn_throughput.py"),
        Run("cdn_hit_ratio.py"),
        Run("cdn_replay_speed.py"),
        Run("cdn_real_traces.py", env=traces),
        Run("cdn_bounds.py", env=traces),
        Run("cdn_steady_state.py", env=traces),
        Run("cdn_keep_hot.py", env=traces),
        Run("cdn_viewer_prefetch.py", skipped="" if have_100k else no_ml),
        Run("cdn_viewer_admission.py", skipped="" if have_100k else no_ml),
        Run("cdn_failover.py", skipped="" if nginx else no_nginx),
        Run("cdn_edges_warming.py", skipped="" if nginx else no_nginx),
        Run(
            "playback_heartbeats.py",
            skipped="" if postgres and redis else f"{no_pg} and REDIS_URL",
        ),
        Run("insights_dashboard.py"),  # SQLite temp file, or DATABASE_URL's test database
        Run("movielens_import.py"),  # catalog: SQLite temp file, or DATABASE_URL (scratch)
        Run("billing_year.py"),
        Run("media_pipeline.py"),
    ]


def _exists(name: str) -> bool:
    return Path(name).is_file() if "/" in name else shutil.which(name) is not None


def main() -> int:
    failed = 0
    for run in plan(os.environ, _exists):
        print(f"\n## {run.script}", flush=True)
        if run.skipped:
            print(f"skipped: {run.skipped}")
            continue
        failed |= subprocess.call(
            [sys.executable, str(BENCH / run.script), *run.args], env={**os.environ, **run.env}
        )
    return failed


if __name__ == "__main__":
    sys.exit(main())
