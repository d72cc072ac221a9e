"""Run every benchmark under bench/ in turn (`make bench`). Each prints its own table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SUITES = [
    ("db_connections.py", lambda: os.environ.get("DATABASE_URL", "").startswith("postgres")),
    ("media_pipeline.py", lambda: True),
]


def main() -> int:
    failed = 0
    for script, applicable in SUITES:
        print(f"\n## {script}", flush=True)
        if not applicable():
            print("skipped: needs DATABASE_URL=postgres://...")
            continue
        failed |= subprocess.call([sys.executable, str(BENCH / script)])
    return failed


if __name__ == "__main__":
    sys.exit(main())
