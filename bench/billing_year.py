"""A year of billing for N subscriptions (default 1,000) on an injected clock.

Creates a throwaway database (SQLite file under a temp dir unless DATABASE_URL is set, in which
case Django's test database `test_<name>` is created and destroyed), runs billing/simulation.py
and prints the invariants and the wall time.

    BENCH_SUBSCRIPTIONS=1000 .venv/bin/python bench/billing_year.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamsite.settings.test")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.test.utils import get_runner  # noqa: E402

from billing import simulation  # noqa: E402


def main() -> int:
    from django.conf import settings
    from django.db import connection

    count = int(os.environ.get("BENCH_SUBSCRIPTIONS", "1000"))
    runner = get_runner(settings)(verbosity=0)
    old = runner.setup_databases()
    try:
        started = time.perf_counter()

        marks: dict[int, float] = {}

        def progress(day: int) -> None:
            marks[day] = time.perf_counter() - started
            if day % 30 == 0 or day == 365:
                spent = time.perf_counter() - started
                print(f"  day {day:3d}/365  {spent:6.1f} s", file=sys.stderr, flush=True)

        report = simulation.run(
            count=count, start=datetime(2026, 1, 1, 9, tzinfo=UTC), progress=progress
        )
        elapsed = time.perf_counter() - started
    finally:
        runner.teardown_databases(old)
    print(f"| subscriptions | {report.subscriptions} |")
    print(f"| invoices | {report.invoices} |")
    print(
        f"| payments succeeded / failed | {report.payments_succeeded} / {report.payments_failed} |"
    )
    print(f"| double charges | {report.double_charges} |")
    print(
        f"| missed / duplicate period invoices | {report.missed_invoices} / "
        f"{report.duplicate_invoices} |"
    )
    print(f"| invoice totals != sum of lines | {report.total_mismatches} |")
    print(f"| final statuses | {report.statuses} |")
    setup = marks.get(0, 0.0)
    print(f"| database | {connection.vendor}, load average {os.getloadavg()[0]:.1f} |")
    print(f"| checkouts ({report.subscriptions} subscriptions started) | {setup:.1f} s |")
    print(f"| the year (renewals, plan changes, dunning: days 1-365) | {elapsed - setup:.1f} s |")
    print(f"| wall time, both | {elapsed:.1f} s |")
    bad = report.double_charges + report.missed_invoices + report.duplicate_invoices
    return 1 if bad or report.total_mismatches or report.gateway_mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
