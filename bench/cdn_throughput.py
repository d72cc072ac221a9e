"""Steering endpoint throughput vs a trivial view of the same server, on loopback.

Starts gunicorn (1 sync worker) on a fresh SQLite database in a temporary directory, with 50
sites x 8 edges and 10,000 coverage zones, a service account holding cdn.use_steering and an
API token. Then, in alternating 1 s slices (so load changes hit both alike), a client sends
keep-alive-free requests to `GET /healthz` (trivial: no database) and to
`POST /api/v1/cdn/steer` (token auth, steering, the batched decision record). Reports
requests/s and the ratio.

    .venv/bin/python bench/cdn_throughput.py        # SQLite; BENCH_SECONDS=5 by default
    createdb -h 127.0.0.1 -U postgres ss_cdn_bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ss_cdn_bench \
        .venv/bin/python bench/cdn_throughput.py
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))

SETUP = """
import random
from django.contrib.auth.models import Permission
from accounts.models import User
from accounts.services import api_token_create
from cdn.models import Site, Edge, CoverageZone
rng = random.Random(3)
for s in range(50):
    site = Site.objects.create(name=f"s{s}", country="US", latitude=rng.uniform(-60, 60),
                               longitude=rng.uniform(-180, 180), is_global_default=s == 0)
    Edge.objects.bulk_create([Edge(site=site, name=f"s{s}-e{e}",
                              base_url=f"https://s{s}-e{e}.cdn.example/") for e in range(8)])
sites = list(Site.objects.all())
CoverageZone.objects.bulk_create(
    [CoverageZone(site=sites[i % 50], cidr=f"10.{i // 256}.{i % 256}.0/24") for i in range(10000)]
)
user = User.objects.create_user(email="playback@bench.example", password="x" * 20)
user.user_permissions.add(Permission.objects.get(codename="use_steering"))
print(api_token_create(user=user, name="bench")[1])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hammer(
    port: int, method: str, path: str, body: bytes | None, headers: dict, seconds: float
) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        conn.close()
        done += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "streamsite.settings.dev",
            "STREAMSITE_VAR_DIR": tmp,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "API_THROTTLE_USER": "1000000/min",
            "CDN_DECISION_BATCH": os.environ.get("CDN_DECISION_BATCH", "100"),
        }
        env.pop("REDIS_URL", None)
        env.pop("DATABASE_URL", None)
        if os.environ.get("BENCH_DATABASE_URL"):  # a scratch PostgreSQL database: flushed!
            env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]

        def run(*a: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [PY, "manage.py", *a], cwd=ROOT, env=env, check=True, capture_output=True, text=True
            )

        run("migrate", "--noinput")
        run("flush", "--noinput")
        token = run("shell", "-c", SETUP).stdout.strip().splitlines()[-1]
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(PY).parent / "gunicorn"),
                "streamsite.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            body = json.dumps({"client_ip": "10.3.7.9", "content_key": "hls/abc/v1/"}).encode()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            hammer(port, "POST", "/api/v1/cdn/steer", body, headers, 1.0)  # warm the snapshot
            # Alternate short slices of each, so a change in machine load hits both alike.
            rounds = max(1, int(SECONDS))
            trivial_rates, steer_rates = [], []
            for _ in range(rounds):
                trivial_rates.append(hammer(port, "GET", "/healthz", None, {}, 1.0))
                steer_rates.append(hammer(port, "POST", "/api/v1/cdn/steer", body, headers, 1.0))
            trivial = sum(trivial_rates) / rounds
            steer = sum(steer_rates) / rounds
        finally:
            server.terminate()
            server.wait(timeout=10)
    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f} on {os.cpu_count()} CPUs, {SECONDS:g} s per endpoint "
        "in alternating 1 s slices"
    )
    print(f"GET /healthz (trivial)      {trivial:8.0f} req/s")
    print(f"POST /api/v1/cdn/steer      {steer:8.0f} req/s")
    print(f"ratio steer / trivial       {steer / trivial:8.2f}")


if __name__ == "__main__":
    main()
