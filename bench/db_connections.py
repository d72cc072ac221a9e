"""Connection strategy on PostgreSQL: new connection per request vs persistent vs psycopg pool.

Each mode runs in its own process (settings are read at start-up) and serves the same number of
requests through Django's full request cycle (request_started/finished close or keep the
connection exactly as under gunicorn). Reported as requests/s and as a ratio to the
connect-per-request baseline measured in the same session.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamsite \
        .venv/bin/python bench/db_connections.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "connect per request (CONN_MAX_AGE=0)": {"DATABASE_CONN_MAX_AGE": "0"},
    "persistent (CONN_MAX_AGE=60)": {"DATABASE_CONN_MAX_AGE": "60"},
    "psycopg pool (DATABASE_POOL=true)": {"DATABASE_POOL": "true"},
}
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))


def child() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "streamsite.settings.dev"
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.test import Client

    client = Client()
    for _ in range(50):  # warm up
        client.get("/readyz")
    started = time.perf_counter()
    for _ in range(REQUESTS):
        assert client.get("/readyz").status_code == 200
    elapsed = time.perf_counter() - started
    print(json.dumps({"rps": REQUESTS / elapsed}))


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://... (this benchmark is about PostgreSQL connections)")
    results = {}
    for label, extra in MODES.items():
        env = {**os.environ, **extra, "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)  # measure the database alone
        out = subprocess.run(
            [sys.executable, __file__, "--child"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results[label] = json.loads(out.stdout.strip().splitlines()[-1])["rps"]
    base = next(iter(results.values()))
    print(f"{'mode':40} {'req/s':>8} {'ratio':>6}   ({REQUESTS} requests each)")
    for label, rps in results.items():
        print(f"{label:40} {rps:8.0f} {rps / base:6.2f}")


if __name__ == "__main__":
    child() if "--child" in sys.argv else main()
