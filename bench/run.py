"""Run every benchmark under bench/ in turn (`make bench`). Each prints its own table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITES = [
    ("db_connections.py", lambda: os.environ.get("DATABASE_URL", "").startswith("postgres")),
    ("recs_offline.py", lambda: True),
    # cdn
    ("cdn_decision.py", lambda: True),
    ("cdn_throughput.py", lambda: True),
    ("cdn_hit_ratio.py", lambda: True),
    ("cdn_failover.py", lambda: shutil.which("nginx") is not None),
    ("cdn_edges_warming.py", lambda: shutil.which("nginx") is not None),
    (
        "playback_heartbeats.py",
        lambda: (
            os.environ.get("DATABASE_URL", "").startswith("postgres")
            and bool(os.environ.get("REDIS_URL"))
        ),
    ),
    ("movielens_import.py", lambda: True),  # catalog: SQLite temp file, or DATABASE_URL (scratch)
    ("billing_year.py", lambda: True),
    ("media_pipeline.py", lambda: True),
]


def main() -> int:
    failed = 0
    for script, applicable in SUITES:
        print(f"\n## {script}", flush=True)
        if not applicable():
            print("skipped: needs DATABASE_URL=postgres://... (and REDIS_URL where it says so)")
            continue
        failed |= subprocess.call([sys.executable, str(BENCH / script)])
    return failed


if __name__ == "__main__":
    sys.exit(main())
